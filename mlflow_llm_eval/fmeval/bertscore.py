"""bertscore: BERTScore F1 of prediction vs target, as FMEval computes it (via ``bert_score``).

FMEval's ``BertscoreHelperModel`` calls HF ``evaluate``'s ``bertscore`` (the ``bert_score``
package) one pair at a time with ``model_type="microsoft/deberta-xlarge-mnli"`` (its default;
``roberta-large-mnli`` is its other choice), no IDF weighting and no baseline rescaling, and
keeps F1. The same computation here, with our shared model loading (hub name, local directory
or MLflow URI; device and precision; length-sorted batches):

1. each text is stripped and tokenised with the model's special tokens, truncated at the
   model's maximum length (such rows get status ``truncated``);
2. token embeddings are the hidden states of layer ``num_layers`` (bert_score's table: 40 for
   deberta-xlarge-mnli, 19 for roberta-large-mnli; the last layer for other models), each
   normalised to unit length;
3. precision = mean over the prediction's tokens (without CLS/SEP) of the best cosine with any
   target token (CLS/SEP included); recall the same the other way; F1 = 2PR/(P+R), 0 when
   either text has no token.

Each text is embedded once per batch, whatever its pairs; a pair is scored without padding (as
FMEval's one-pair calls are). With ``target_output_delimiter`` (e.g. ``"<OR>"``, as FMEval's
QA accuracy does) the score is the best over the targets; ``qa_bertscore`` sets it.

    >>> BERTScore(model="/no/such/dir")
    Traceback (most recent call last):
    ...
    mlflow_llm_eval.hf.loading.ModelUnavailableError: cannot load model '/no/such/dir': ...
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from mlflow_llm_eval.core.text import check_text
from mlflow_llm_eval.core.types import Metric, MetricResult, RowBatch, RowScore
from mlflow_llm_eval.fmeval._common import DEFAULT_DELIMITER, split_targets, validate_delimiter
from mlflow_llm_eval.hf import (
    ModelUnavailableError,
    check_source,
    default_batch_size,
    dependencies_missing,
    encode_texts,
    load_model,
    run_sorted_batches,
    select_device,
    validate_device,
    validate_precision,
)

_logger = logging.getLogger(__name__)

DEFAULT_MODEL = "microsoft/deberta-xlarge-mnli"
#: bert_score's ``model2layers`` for the two models FMEval allows.
FMEVAL_MODEL_LAYERS = {"microsoft/deberta-xlarge-mnli": 40, "roberta-large-mnli": 19}


def pair_f1(hyp: Any, ref: Any, hyp_weight: Any, ref_weight: Any) -> float:
    """bert_score's greedy matching for one pair of unit-normalised token embeddings."""
    if float(hyp_weight.sum()) == 0.0 or float(ref_weight.sum()) == 0.0:
        return 0.0
    sim = hyp @ ref.T
    precision = float((sim.max(dim=1).values * hyp_weight).sum() / hyp_weight.sum())
    recall = float((sim.max(dim=0).values * ref_weight).sum() / ref_weight.sum())
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else float("nan")
    return 0.0 if f1 != f1 else f1


class BERTScore(Metric):
    """BERTScore F1 (no IDF, no rescaling) with a transformers encoder; FMEval's settings."""

    version = "v1"
    value_kind, value_range = "bounded", (-1.0, 1.0)  # F1 of cosine similarities
    greater_is_better = True
    requires = ("predictions", "targets")
    headline_aggregation = "mean"

    def __init__(
        self,
        *,
        model: str | None = None,
        num_layers: int | None = None,
        target_output_delimiter: str | None = None,
        device: str = "auto",
        precision: str = "auto",
        batch_size: int | None = None,
        name: str = "bertscore",
    ) -> None:
        self.model_source = DEFAULT_MODEL if model is None else check_source(model)
        if num_layers is not None and (not isinstance(num_layers, int) or num_layers < 1):
            raise ValueError(f"num_layers must be a positive int or None, got {num_layers!r}")
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
            raise ValueError(f"batch_size must be a positive int or None, got {batch_size!r}")
        self.num_layers = num_layers or FMEVAL_MODEL_LAYERS.get(self.model_source)
        self.delimiter = validate_delimiter(target_output_delimiter)
        self.device, self.precision = validate_device(device), validate_precision(precision)
        self.batch_size, self.name = batch_size, name
        over = f"; best over targets split on {self.delimiter!r}" if self.delimiter else ""
        self.description = (
            f"BERTScore F1 with {self.model_source}{over} "
            "(FMEval SummarizationAccuracy/QAAccuracy bertscore)"
        )
        self._unavailable = dependencies_missing()
        if self._unavailable is None and self.device != "auto":
            select_device(self.device)
        if model is not None and self._unavailable is None:
            self._load()  # a model the user named: any problem raises at construction

    def _load(self) -> Any:
        return load_model(
            self.model_source,
            task="feature-extraction",
            device=self.device,
            precision=self.precision,
        )

    def metadata(self) -> dict[str, Any]:
        return {
            **super().metadata(),
            "options": {
                "model": self.model_source,
                "num_layers": self.num_layers,
                "target_output_delimiter": self.delimiter,
            },
        }

    def embed(self, texts: Sequence[str]) -> tuple[list[tuple[Any, Any]], list[bool], int]:
        """Per text (unit token embeddings, CLS/SEP-free weights), truncated flags, max length."""
        import torch

        loaded = self._load()
        tokenizer, limit = loaded.tokenizer, loaded.max_length
        encoded = encode_texts(tokenizer, [t.strip() for t in texts], limit)
        layer = self.num_layers or loaded.config.num_hidden_layers
        if layer > loaded.config.num_hidden_layers:
            raise ValueError(
                f"num_layers={layer} but {self.model_source} has "
                f"{loaded.config.num_hidden_layers} layers"
            )
        special = {tokenizer.cls_token_id, tokenizer.sep_token_id} - {None}

        def run(batch: list[Any]) -> list[tuple[Any, Any]]:
            ids = [e.features["input_ids"] for e in batch]
            width = max(len(i) for i in ids)
            pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
            input_ids = torch.tensor(
                [i + [pad] * (width - len(i)) for i in ids], device=loaded.device
            )
            mask = torch.tensor(
                [[1] * len(i) + [0] * (width - len(i)) for i in ids], device=loaded.device
            )
            with torch.inference_mode():
                states = loaded.model(
                    input_ids=input_ids, attention_mask=mask, output_hidden_states=True
                ).hidden_states[layer]
            out = []
            for row, token_ids in zip(states.float(), ids):
                vectors = row[: len(token_ids)]
                vectors = vectors / vectors.norm(dim=-1, keepdim=True)
                weights = torch.tensor(
                    [0.0 if t in special else 1.0 for t in token_ids], device=vectors.device
                )
                out.append((vectors, weights))
            return out

        batch_size = self.batch_size or default_batch_size(loaded.device)
        embedded = run_sorted_batches(encoded, [e.length for e in encoded], run, batch_size)
        return embedded, [e.truncated for e in encoded], limit

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> tuple[list[float], list[bool], int]:
        """F1 of each (prediction, target) pair; whether either text was truncated."""
        texts = list(dict.fromkeys(t for pair in pairs for t in pair))
        index = {t: i for i, t in enumerate(texts)}
        embedded, truncated, limit = self.embed(texts)
        scores, cut = [], []
        for hyp, ref in pairs:
            (h, hw), (r, rw) = embedded[index[hyp]], embedded[index[ref]]
            scores.append(pair_f1(h, r, hw, rw))
            cut.append(truncated[index[hyp]] or truncated[index[ref]])
        return scores, cut, limit

    @property
    def unavailable_reason(self) -> str | None:
        """Why the model cannot run here (missing torch/transformers, model not loadable)."""
        return self._unavailable

    def _unavailable_rows(self, n: int) -> MetricResult:
        return MetricResult.all_failed(n, "unavailable", self._unavailable or "")

    def score_batch(self, rows: RowBatch) -> MetricResult:
        n = len(rows["predictions"])
        if self._unavailable is not None:
            return self._unavailable_rows(n)
        results: list[RowScore | None] = []
        pairs: list[tuple[int, str, str]] = []
        for i, (prediction, target) in enumerate(
            zip(rows["predictions"], rows["targets"], strict=True)
        ):
            p = check_text(prediction, column="predictions", allow_empty=True)
            t = check_text(target, column="targets")
            pieces = split_targets(t.text, self.delimiter) if t.text is not None else []
            if p.unscored or t.unscored or not pieces:
                results.append(
                    p.unscored
                    or t.unscored
                    or RowScore.unscored("empty", "targets holds only empty answers")
                )
                continue
            results.append(None)
            pairs.extend((i, p.text, piece) for piece in pieces)  # type: ignore[misc]
        if pairs:
            try:
                scores, cut, limit = self.score_pairs([(h, r) for _, h, r in pairs])
            except ModelUnavailableError as exc:
                self._unavailable = str(exc)
                _logger.warning("bertscore is unavailable, its rows are left unscored: %s", exc)
                return self._unavailable_rows(n)
            best: dict[int, tuple[float, bool]] = {}
            for (i, _, _), score, was_cut in zip(pairs, scores, cut):
                old = best.get(i, (float("-inf"), False))
                best[i] = (max(old[0], score), old[1] or was_cut)
            reason = f"text truncated to the model's maximum of {limit} tokens"
            for i, (score, was_cut) in best.items():
                results[i] = RowScore(score, "truncated", reason) if was_cut else RowScore.ok(score)
        return MetricResult.from_rows(results)  # type: ignore[arg-type]


def bertscore(
    *,
    model: str | None = None,
    num_layers: int | None = None,
    target_output_delimiter: str | None = None,
    device: str = "auto",
    precision: str = "auto",
    batch_size: int | None = None,
) -> BERTScore:
    """BERTScore F1 (default model microsoft/deberta-xlarge-mnli, layer 40, as FMEval)."""
    return BERTScore(
        model=model,
        num_layers=num_layers,
        device=device,
        precision=precision,
        target_output_delimiter=target_output_delimiter,
        batch_size=batch_size,
    )


def qa_bertscore(
    *,
    model: str | None = None,
    num_layers: int | None = None,
    target_output_delimiter: str | None = DEFAULT_DELIMITER,
    device: str = "auto",
    precision: str = "auto",
    batch_size: int | None = None,
) -> BERTScore:
    """FMEval QAAccuracy's bertscore: the best BERTScore F1 over ``<OR>``-separated targets."""
    return BERTScore(
        model=model,
        num_layers=num_layers,
        device=device,
        precision=precision,
        target_output_delimiter=target_output_delimiter,
        batch_size=batch_size,
        name="qa_bertscore",
    )


METRICS = {"bertscore": bertscore, "qa_bertscore": qa_bertscore}
