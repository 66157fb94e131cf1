"""LLM-as-judge metrics: :class:`GenAIMetric`, a judge spec run by our engine.

Built by ``make_genai_metric`` (MLflow's signature) or ``from_mlflow_genai_metric``, both in
:mod:`.make`. Our engine runs underneath (:mod:`.engine`): adaptive concurrency, retries, an
on-disk cache, strict answers.

    >>> import os; os.environ.setdefault("OPENAI_API_KEY", "sk-doc")  # doctest: +ELLIPSIS
    '...'
    >>> from mlflow_llm_eval.judge.pack import JudgeSpec
    >>> tone = GenAIMetric(
    ...     JudgeSpec(name="professionalism", definition="How formal the output is.",
    ...               grading_prompt="- Score 1: slang\\n- Score 5: formal", scale=(1, 5)),
    ...     model="openai:/gpt-4o-mini")
    >>> tone.key, tone.requires, tone.parameters["temperature"]
    ('professionalism/v1', ('predictions', 'inputs'), 0.0)

Per row: score (NaN when the judge failed), justification (the judge's), status (``ok``,
``rate_limited``, ``timeout``, ``server_error``, ``request_error``, ``parse_error``, or a text
check's status) and reason. Run-level accounting is returned as extra aggregates, logged as
``<name>/<version>/<key>``: ``judge_requests``, ``judge_retries``, ``judge_repairs``,
``judge_cache_hits``, ``prompt_tokens``, ``completion_tokens`` and, with ``price``, ``cost_usd``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

from mlflow_llm_eval.core.aggregate import validate_aggregations
from mlflow_llm_eval.core.text import score_text_rows
from mlflow_llm_eval.core.types import (
    DEFAULT_AGGREGATIONS,
    REQUEST_ACCOUNTING,
    SCORED_MEAN,
    Metric,
    MetricResult,
    RowBatch,
    RowScore,
)
from mlflow_llm_eval.chat.engine import STATUSES as CHAT_STATUSES
from mlflow_llm_eval.chat.options import RequestOptions, UsesRequestOptions
from mlflow_llm_eval.judge.cache import cache_key, resolve_cache
from mlflow_llm_eval.judge.endpoints import make_client
from mlflow_llm_eval.judge.engine import JudgeEngine, Outcome, accounting_of
from mlflow_llm_eval.judge.pack import JudgeSpec
from mlflow_llm_eval.core.language import detect, normalize_code
from mlflow_llm_eval.judge.prompt import PROMPT_FORMAT_VERSION, render_messages, repair_messages
from mlflow_llm_eval.redaction import register_secrets

_logger = logging.getLogger(__name__)

#: MLflow's default judge parameters (prompts/v1.py).
DEFAULT_PARAMETERS: dict[str, Any] = {"temperature": 0.0, "max_tokens": 200, "top_p": 1.0}
#: Default max_tokens when a justification is asked in a language other than English (a
#: sentence of Korean, Japanese or Chinese takes several times the tokens of English).
NON_ENGLISH_MAX_TOKENS = 600
MODEL_ENV = "MLFLOW_LLM_EVAL_JUDGE_MODEL"
#: Row statuses a judge adds to core.types.STATUSES (the reason column says more).
JUDGE_STATUSES: dict[str, str] = {
    **CHAT_STATUSES,
    "parse_error": "the answer was not the JSON object asked for, or its score was outside the "
    "scale, even after one repair request; the raw answers are kept",
}


def resolve_model(model: str | None, name: str) -> str:
    """The judge model URI: the argument, else ``$MLFLOW_LLM_EVAL_JUDGE_MODEL``, else an error."""
    model = model or os.environ.get(MODEL_ENV)
    if not model:
        raise ValueError(
            f"judge metric '{name}' needs a judge model: pass model='openai:/gpt-4o-mini' (or "
            f"'azure:/<deployment>', 'endpoints:/<name>'), or set {MODEL_ENV}"
        )
    return str(model)


def _validate_price(price: Mapping[str, float] | None) -> dict[str, float] | None:
    if price is None:
        return None
    if (
        not isinstance(price, Mapping)
        or set(price) != {"prompt", "completion"}
        or not all(isinstance(v, (int, float)) and v >= 0 for v in price.values())
    ):
        raise ValueError(
            "price must be {'prompt': USD per 1M prompt tokens, 'completion': USD per "
            f"1M completion tokens}} with non-negative numbers, got {price!r}"
        )
    return {k: float(v) for k, v in price.items()}


def _context_text(value: Any) -> Any:
    """A context cell as text: lists of passages joined by blank lines; other values unchanged."""
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return "\n\n".join(value)
    return value


class GenAIMetric(UsesRequestOptions, Metric):
    """A judge metric: a :class:`JudgeSpec` (what to ask) plus an endpoint and engine settings.

    ``model``: ``openai:/<model>``, ``azure:/<deployment>`` or ``endpoints:/<name>`` (default
    ``$MLFLOW_LLM_EVAL_JUDGE_MODEL``). ``parameters``: sent with every request (default MLflow's
    temperature 0, max_tokens 200, top_p 1). ``cache``: True (default file), False, or a file
    path. ``price``: ``{"prompt": usd, "completion": usd}`` per 1M tokens, adds ``cost_usd``.
    ``progress``: tqdm bar on/off (default: runs of 100+ rows on a terminal or in a notebook).
    ``samples``: judge each row this many times (needs a temperature > 0): the row's score is the
    mean, its spread is in the justification and in ``self_consistency_sd``.
    ``justification_language``: ``"auto"`` (default: the graded output's language, detected per
    row), an ISO code (``"ko"``), or ``None`` (never ask); a language other than English adds
    one sentence to the user message and, with the default parameters, raises ``max_tokens`` to
    ``NON_ENGLISH_MAX_TOKENS`` for that batch so the justification is not cut.
    Request options (:class:`~mlflow_llm_eval.chat.RequestOptions`, readable as attributes):
    ``request_options=`` and/or its fields by keyword: ``max_workers`` (MLflow's name for
    ``max_concurrency``, default 256; it starts at ``initial_concurrency``, 32), ``timeout``,
    ``max_attempts``, ``retry_budget``, ``wait_budget``, ``max_wait``, ``rpm``, ``tpm``,
    ``deadline``, ``breaker_threshold``, ``backoff_base``, ``backoff_max``.
    """

    aggregate_merges = {**REQUEST_ACCOUNTING, "self_consistency_*": SCORED_MEAN}

    def __init__(
        self,
        spec: JudgeSpec,
        *,
        model: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        aggregations: Sequence[str] | None = None,
        metric_metadata: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        proxy_url: str | None = None,
        cache: bool | str | os.PathLike[str] = True,
        price: Mapping[str, float] | None = None,
        progress: bool | None = None,
        samples: int = 1,
        request_options: RequestOptions | None = None,
        justification_language: str | None = "auto",
        **options: Any,
    ) -> None:
        self.spec = spec
        self.justification_language = (
            "auto" if justification_language == "auto" else normalize_code(justification_language)
        )
        self._default_parameters = parameters is None
        self.name, self.version = spec.name, spec.version
        self.greater_is_better = spec.greater_is_better
        self.value_kind, self.value_range = "ordinal", (float(spec.scale[0]), float(spec.scale[1]))
        self.requires = (
            ("predictions",)
            + (("inputs",) if spec.include_input else ())
            + tuple(spec.grading_context_columns)
        )
        self.aggregations = validate_aggregations(aggregations or DEFAULT_AGGREGATIONS)
        self.description = spec.description or spec.definition.split(". ")[0][:150]
        self.model = resolve_model(model, spec.name)
        #: The engine's limits, retries, budgets and pacing; the Spark adapter splits them per task.
        self.request_options = RequestOptions.resolve(request_options, **options)
        self.parameters = dict(DEFAULT_PARAMETERS if parameters is None else parameters)
        self.samples = check_samples(samples, self.parameters)
        self.metric_metadata = dict(metric_metadata or {})
        self.price = _validate_price(price)
        self.cache, self.progress = cache, progress
        self._header_names = sorted(extra_headers or {})  # values may be secrets: never exposed
        register_secrets(extra_headers)  # redacted wherever they show up (an echoing 401)
        register_secrets(self.parameters)
        register_secrets(self.metric_metadata)
        self.client = make_client(
            self.model, timeout=self.timeout, extra_headers=extra_headers, proxy_url=proxy_url
        )

    def metadata(self) -> dict[str, Any]:
        """What the run records about this judge (no secret: header values are left out)."""
        return {
            **super().metadata(),
            "judge_model": self.model,
            "parameters": self.parameters,
            "scale": list(self.spec.scale),
            "grading_context_columns": list(self.spec.grading_context_columns),
            "include_input": self.spec.include_input,
            "prompt_format": PROMPT_FORMAT_VERSION,
            "extra_header_names": self._header_names,
            "metric_metadata": self.metric_metadata,
            "counterpart": self.spec.counterpart,
            "samples": self.samples,
        }

    def render(
        self, output: str, input: str | None = None, context: Mapping[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """The messages this judge sends for one row (to inspect or snapshot the prompt)."""
        return render_messages(
            self.spec,
            output=output,
            input=input,
            context=context,
            justification_language=self._language_of(output),
        )

    def _language_of(self, output: str) -> str | None:
        if self.justification_language != "auto":
            return self.justification_language
        code = detect(output, refine=True).code
        return None if code in ("en", "und") else code

    def _parameters_for(self, requests: list[list[dict[str, Any]]]) -> dict[str, Any]:
        """The request parameters; a larger default budget when a justification is not English."""
        if self._default_parameters and any(
            "Write the justification in" in str(m[-1]["content"]) for m in requests
        ):
            return {
                **self.parameters,
                "max_tokens": max(
                    NON_ENGLISH_MAX_TOKENS, int(self.parameters.get("max_tokens") or 0)
                ),
            }
        return self.parameters

    def score_batch(self, rows: RowBatch) -> MetricResult:
        columns = [("predictions", rows["predictions"])]
        if self.spec.include_input:
            columns.append(("inputs", rows["inputs"]))
        columns += [
            (c, [_context_text(v) for v in rows[c]]) for c in self.spec.grading_context_columns
        ]
        accounting: dict[str, float] = {}
        judge = (
            self._judge
            if self.samples == 1
            else (
                lambda valid, acc: self_consistent(
                    lambda s: self._judge(valid, acc, s), self.samples, acc
                )
            )
        )
        result = score_text_rows(columns, lambda valid: judge(valid, accounting), allow_empty=True)
        result.extra_aggregates.update(accounting)
        return result

    def _judge(
        self, valid: list[tuple[str, ...]], accounting: dict[str, float], sample: int = 0
    ) -> list[RowScore]:
        context_columns = self.spec.grading_context_columns
        requests = []
        for row in valid:
            output, rest = row[0], row[1:]
            input = rest[0] if self.spec.include_input else None
            context = dict(zip(context_columns, rest[1:] if self.spec.include_input else rest))
            requests.append(self.render(output, input, context))
        cache = resolve_cache(self.cache)
        parameters = self._parameters_for(requests)
        # Sample s > 0 of a self-consistency run is its own cache entry (never sent as a parameter).
        key_parameters = {**parameters, "llm_eval_sample": sample} if sample else parameters
        engine = JudgeEngine(
            self.client,
            request_options=self.request_options,
            progress=self.progress,
            description=f"judge {self.key}",
            cache=cache,
            cache_key=lambda m: cache_key(
                self.client.identity,
                m,
                key_parameters,
                self.client.json_mode,
                PROMPT_FORMAT_VERSION,
            ),
        )
        outcomes = engine.run(
            requests,
            parameters,
            self.spec.scale,
            lambda m, text, why: repair_messages(m, text, why, self.spec),
        )
        stats = engine.stats
        accounting.update(accounting_of(stats))
        if self.price is not None:
            accounting["cost_usd"] = (
                stats.prompt_tokens * self.price["prompt"]
                + stats.completion_tokens * self.price["completion"]
            ) / 1e6
        failed = sum(o is not None and o.verdict is None for o in outcomes)
        _logger.info(
            "judge %s: %d rows, %d requests, %d retries, %d cache hits, %d unscored",
            self.key,
            len(valid),
            stats.requests,
            stats.retries,
            stats.cache_hits,
            failed,
        )
        return [_row_score(o) for o in outcomes]


def check_samples(samples: int, parameters: Mapping[str, Any]) -> int:
    """``samples`` >= 1; more than one needs a temperature > 0 (else every sample is the same)."""
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be an integer >= 1, got {samples!r}")
    if samples > 1 and not float(parameters.get("temperature") or 0) > 0:
        raise ValueError(
            f"samples={samples} asks the judge {samples} times per row to measure its "
            "self-consistency, which needs parameters={'temperature': > 0} (got "
            f"{parameters.get('temperature')!r}): at temperature 0 the samples are equal"
        )
    return samples


def self_consistent(judge_once: Any, samples: int, accounting: dict[str, float]) -> list[RowScore]:
    """Judge every row ``samples`` times; a row's score is the mean of its scored samples.

    The justification keeps the first scored sample's and appends the samples and their standard
    deviation; a row none of whose samples was scored keeps the first sample's status. Adds
    ``self_consistency_sd`` (mean per-row sd) and ``self_consistency_agreement`` (share of rows
    whose samples all agree) to the accounting; request counters are summed over the samples.
    """
    import statistics

    totals: dict[str, float]
    runs, totals = [], {}
    for sample in range(samples):
        runs.append(judge_once(sample))
        for k, v in accounting.items():
            totals[k] = totals.get(k, 0) + v
    accounting.update(totals)
    rows, spreads, agreeing = [], [], 0
    for row_samples in zip(*runs):
        scored = [r for r in row_samples if r.scored]
        if not scored:
            rows.append(row_samples[0])
            continue
        values = [r.value for r in scored]
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        spreads.append(sd)
        agreeing += len(set(values)) == 1
        note = (
            f" [{len(values)} of {samples} samples: {', '.join(f'{v:g}' for v in values)}; "
            f"sd {sd:.3g}]"
        )
        rows.append(RowScore.ok(statistics.fmean(values), (scored[0].justification or "") + note))
    if spreads:
        accounting["self_consistency_sd"] = statistics.fmean(spreads)
        accounting["self_consistency_agreement"] = agreeing / len(spreads)
    return rows


def _row_score(outcome: Outcome | None) -> RowScore:
    if outcome is None:
        return RowScore.unscored("error", "no outcome")
    if outcome.verdict is not None:
        return RowScore.ok(outcome.verdict.score, outcome.verdict.justification)
    return RowScore.unscored(outcome.status, outcome.reason or outcome.status, outcome.raw)
