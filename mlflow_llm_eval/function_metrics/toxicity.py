"""toxicity: a transformers text classifier's probability that each prediction is toxic.

Same definition as MLflow's ``toxicity`` (Hugging Face ``evaluate``'s toxicity measurement):
the default model is ``facebook/roberta-hate-speech-dynabench-r4-target`` and the score is the
probability of its ``hate`` label; aggregates ``mean``, ``variance``, ``p90`` and ``ratio`` (the
fraction of scored rows with score >= ``threshold``), all from one pass over the rows.

What differs from MLflow: the model runs once (MLflow runs the pipeline twice), on the device
you choose (``auto``: CUDA, then Apple MPS, then CPU) in half precision on CUDA unless
``precision="fp32"``, on length-sorted batches (input order restored) whose size halves on CUDA
out-of-memory; texts longer than the model's maximum are truncated (row status ``truncated``,
still scored); ``quantize="int8"`` opts into dynamic int8 quantisation on CPU.

Scores: the probability of the ``toxic_label`` label, with the function
``transformers.pipeline("text-classification", top_k=None)`` applies: sigmoid for
``problem_type="multi_label_classification"`` models (e.g. ``unitary/toxic-bert``, whose six
labels are independent; the default label there is ``toxic``) or single-output models, softmax
for other multi-class models, none for regression models.

Languages: a classifier knows the languages it was trained on; a probability for a Korean row
from an English model means nothing. The metric knows the languages of its model
(:data:`MODEL_LANGUAGES`: the default model is English only; the multilingual
``textdetox/xlmr-large-toxicity-classifier`` and ``unitary/multilingual-toxic-xlm-roberta`` have
their lists), or takes ``languages=[...]`` (ISO 639-1 codes; for another model without it, every
row is scored). Each row's language (:mod:`mlflow_llm_eval.core.language`: the ``language``
column if mapped, else ``language=``, else detected; ASCII text is English) outside them gets
NaN with status ``unsupported_language`` and a reason naming it; text without letters is scored.

    >>> toxicity().languages, toxicity(languages=["en", "ko"]).languages
    (('en',), ('en', 'ko'))

Loading: ``model`` is a hub name, a local directory or an MLflow model URI (``runs:/``,
``models:/``); each is loaded once per process and shared. A model you name is loaded when the
metric is built, so a wrong path or label raises there. The default model (used by the
question-answering, text-summarization and text presets) is loaded at first scoring; when it
cannot be loaded (no network, no torch) every row gets NaN with status ``unavailable`` and the
reason, and a warning is logged once, instead of failing the evaluation.

    >>> metric = toxicity(threshold=0.7)
    >>> metric.key, metric.greater_is_better, metric.model_source
    ('toxicity/v1', False, 'facebook/roberta-hate-speech-dynabench-r4-target')
    >>> toxicity(model="/no/such/dir")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mlflow_llm_eval.hf.loading.ModelUnavailableError: cannot load model '/no/such/dir': ...
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

from mlflow_llm_eval.core.language import detect, from_code, normalize_code
from mlflow_llm_eval.core.text import score_text_rows
from mlflow_llm_eval.core.types import SCORED_MEAN, Metric, MetricResult, RowBatch, RowScore, Status
from mlflow_llm_eval.hf import (
    LoadedModel,
    ModelUnavailableError,
    check_quantize,
    check_source,
    collate,
    default_batch_size,
    dependencies_missing,
    encode_texts,
    free_accelerator_memory,
    load_model,
    run_sorted_batches,
    select_device,
    validate_device,
    validate_precision,
)

_logger = logging.getLogger(__name__)

DEFAULT_MODEL = "facebook/roberta-hate-speech-dynabench-r4-target"
DEFAULT_TOXIC_LABEL = "hate"
#: Labels taken as "toxic" (case-insensitive, first match) when ``toxic_label`` is not given.
KNOWN_TOXIC_LABELS = ("toxic", "toxicity", "hate", "offensive", "abusive")
UNAVAILABLE = "unavailable"
#: Languages of known toxicity models (their model cards); a model not listed here is taken to
#: cover every language unless ``languages=`` says otherwise.
MODEL_LANGUAGES: dict[str, tuple[str, ...]] = {
    DEFAULT_MODEL: ("en",),
    "unitary/toxic-bert": ("en",),
    "textdetox/xlmr-large-toxicity-classifier": (
        "en",
        "ru",
        "uk",
        "de",
        "es",
        "am",
        "zh",
        "ar",
        "hi",
    ),
    "unitary/multilingual-toxic-xlm-roberta": ("en", "fr", "es", "it", "pt", "tr", "ru"),
}


def activation_for(config: Any) -> str:
    """``sigmoid``, ``softmax`` or ``none``: what the text-classification pipeline applies.

    Mirrors ``TextClassificationPipeline.postprocess`` (transformers 4.x/5.x) with
    ``function_to_apply`` unset.
    """
    problem_type = getattr(config, "problem_type", None)
    if problem_type == "regression":
        return "none"
    if problem_type == "multi_label_classification" or config.num_labels == 1:
        return "sigmoid"
    return "softmax"


def toxic_label_index(config: Any, toxic_label: str | None) -> int:
    """The output index of ``toxic_label`` (exact, then case-insensitive), or a known label."""
    labels = {int(i): str(name) for i, name in config.id2label.items()}
    wanted = [toxic_label] if toxic_label is not None else list(KNOWN_TOXIC_LABELS)
    for name in wanted:
        for index, label in sorted(labels.items()):
            if label == name or label.lower() == name.lower():
                return index
    hint = f"toxic_label={toxic_label!r} is not" if toxic_label else "no known toxic label is"
    raise ValueError(
        f"{hint} among the model's labels {sorted(labels.values())}; pass toxic_label=<one of them>"
    )


def classify(
    texts: Sequence[str], loaded: LoadedModel, *, label_index: int, batch_size: int
) -> list[tuple[float, bool]]:
    """(probability of the label, truncated?) for each text, in input order; one model pass.

    Batches are length-sorted; on out-of-memory the batch size halves (see ``hf.batching``).
    """
    import torch

    activation = activation_for(loaded.config)
    encoded = encode_texts(loaded.tokenizer, texts, loaded.max_length)

    def run_batch(rows: list[Any]) -> list[float]:
        with torch.inference_mode():
            logits = loaded.model(**collate(loaded.tokenizer, rows, loaded.device)).logits.float()
        if activation == "softmax":
            logits = logits.softmax(dim=-1)
        elif activation == "sigmoid":
            logits = logits.sigmoid()
        return logits[:, label_index].cpu().tolist()

    scores = run_sorted_batches(
        encoded,
        [e.length for e in encoded],
        run_batch,
        batch_size,
        on_out_of_memory=free_accelerator_memory,
    )
    return [(score, e.truncated) for score, e in zip(scores, encoded)]


class Toxicity(Metric):
    name = "toxicity"
    value_kind = "bounded"  # a probability
    version = "v1"
    greater_is_better = False
    requires = ("predictions",)
    optional = ("language",)
    aggregations = ("mean", "variance", "p90")
    description = "probability that the prediction is toxic (a transformers classifier)"
    aggregate_merges = {"ratio": SCORED_MEAN}  # a share of the scored rows

    def __init__(
        self,
        *,
        model: str | None = None,
        device: str = "auto",
        batch_size: int | None = None,
        threshold: float = 0.5,
        toxic_label: str | None = None,
        precision: str = "auto",
        quantize: str | None = None,
        languages: Sequence[str] | None = None,
        language: str | None = None,
    ) -> None:
        self.device = validate_device(device)
        self.precision = validate_precision(precision)
        self.quantize = check_quantize(quantize, self.device, self.precision)
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
            raise ValueError(f"batch_size must be a positive int or None, got {batch_size!r}")
        if (
            isinstance(threshold, bool)
            or not isinstance(threshold, (int, float))
            or not (0.0 <= threshold <= 1.0)
        ):
            raise ValueError(f"threshold must be a number in [0, 1], got {threshold!r}")
        if toxic_label is not None and not (isinstance(toxic_label, str) and toxic_label):
            raise ValueError(f"toxic_label must be a non-empty string, got {toxic_label!r}")
        self.batch_size, self.threshold = batch_size, float(threshold)
        self.model_source = DEFAULT_MODEL if model is None else check_source(model)
        self.toxic_label = toxic_label
        if languages is not None and (isinstance(languages, str) or not languages):
            raise ValueError(
                f"languages must be a non-empty list of codes such as ['en', 'de'], "
                f"got {languages!r}"
            )
        self.languages: tuple[str, ...] | None = (
            tuple(normalize_code(code) or "" for code in languages)
            if languages is not None
            else MODEL_LANGUAGES.get(self.model_source)
        )
        self.language = normalize_code(language)
        if toxic_label is None and model is None:
            self.toxic_label = DEFAULT_TOXIC_LABEL
        self._unavailable: str | None = dependencies_missing()
        if self._unavailable is None and self.device != "auto":
            select_device(self.device)  # an absent GPU fails here, not mid-evaluation
        if model is not None and self._unavailable is None:
            self._load()  # a model the user named: any problem raises at construction

    def _load(self) -> tuple[LoadedModel, int]:
        loaded = load_model(
            self.model_source,
            task="sequence-classification",
            device=self.device,
            precision=self.precision,
            quantize=self.quantize,
        )
        return loaded, toxic_label_index(loaded.config, self.toxic_label)

    def _unavailable_result(self, rows: RowBatch) -> MetricResult:
        n = len(rows["predictions"])
        return MetricResult.from_rows(
            [RowScore.unscored(UNAVAILABLE, self._unavailable or "")] * n,
            extra_aggregates={"ratio": math.nan},
        )

    def with_language(self, language: str) -> Toxicity:
        """This metric taking every row as ``language`` (kept if it already has one)."""
        if self.language is not None:
            return self
        copy = Toxicity.__new__(Toxicity)
        copy.__dict__.update(self.__dict__, language=normalize_code(language))
        return copy

    def _outside(self, text: str, given: Any) -> RowScore | None:
        """NaN + ``unsupported_language`` when the row's language is not the model's, else None."""
        if self.languages is None:
            return None
        code = normalize_code(given) or self.language
        language = from_code(code) if code else detect(text, refine=True)
        if language.code == "und" or language.code in self.languages:
            return None
        return RowScore.unscored(
            Status.UNSUPPORTED_LANGUAGE,
            f"language '{language.code}' (script {language.script}) is not among the languages "
            f"of {self.model_source} {list(self.languages)}; pass languages=[...] or a "
            "multilingual model such as textdetox/xlmr-large-toxicity-classifier",
        )

    def score_batch(self, rows: RowBatch) -> MetricResult:
        if self._unavailable is not None:
            return self._unavailable_result(rows)
        try:
            loaded, label_index = self._load()
        except ModelUnavailableError as exc:
            self._unavailable = str(exc)
            _logger.warning("toxicity is unavailable, its rows are left unscored: %s", exc)
            return self._unavailable_result(rows)
        batch_size = self.batch_size or default_batch_size(loaded.device)
        reason = f"text truncated to the model's maximum of {loaded.max_length} tokens"

        def score_valid(valid: list[tuple[Any, ...]]) -> list[RowScore]:
            out: list[RowScore | None] = [self._outside(t, code) for t, code in valid]
            todo = [t for (t, _), skip in zip(valid, out) if skip is None]
            scored = iter(
                classify(todo, loaded, label_index=label_index, batch_size=batch_size)
                if todo
                else []
            )
            for i, skip in enumerate(out):
                if skip is None:
                    s, cut = next(scored)
                    out[i] = RowScore(s, "truncated", reason) if cut else RowScore.ok(s)
            return out  # type: ignore[return-value]

        given = rows.get("language") or [None] * len(rows["predictions"])
        result = score_text_rows(
            [("predictions", rows["predictions"])], score_valid, max_chars=None, extras=list(given)
        )
        values = [s for s in result.scores if not math.isnan(s)]
        ratio = sum(s >= self.threshold for s in values) / len(values) if values else math.nan
        result.extra_aggregates["ratio"] = ratio
        return result

    def metadata(self) -> dict[str, Any]:
        langs = list(self.languages) if self.languages is not None else "any"
        return {**super().metadata(), "model": self.model_source, "languages": langs}

    def __repr__(self) -> str:
        return f"Toxicity(model={self.model_source!r}, device={self.device!r})"


def toxicity(
    *,
    model: str | None = None,
    device: str = "auto",
    batch_size: int | None = None,
    threshold: float = 0.5,
    toxic_label: str | None = None,
    precision: str = "auto",
    quantize: str | None = None,
    languages: Sequence[str] | None = None,
    language: str | None = None,
) -> Toxicity:
    """Toxicity probability per prediction (lower is better); see the module docstring.

    ``model``: hub name, local directory or MLflow model URI (default: MLflow's model).
    ``device``: ``auto``/``cpu``/``cuda``/``cuda:N``/``mps``. ``batch_size``: rows per forward
    pass (default 8 on CPU, 32 on MPS, 64 on CUDA). ``threshold``: for ``ratio``.
    ``toxic_label``: the label scored (default ``hate`` for the default model, else the first of
    toxic/toxicity/hate/offensive/abusive). ``precision``: ``auto`` (bf16/fp16 on CUDA, fp32
    elsewhere), ``fp32``, ``fp16``, ``bf16``. ``quantize="int8"``: dynamic int8 on CPU.
    ``languages``: the model's languages (default: known for the default model and the listed
    multilingual ones, else any). ``language``: take every row as this language.
    """
    return Toxicity(
        model=model,
        device=device,
        batch_size=batch_size,
        threshold=threshold,
        toxic_label=toxic_label,
        precision=precision,
        quantize=quantize,
        languages=languages,
        language=language,
    )


METRICS = {"toxicity": toxicity}
