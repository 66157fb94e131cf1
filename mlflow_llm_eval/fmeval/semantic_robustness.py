"""semantic_robustness_*: how much the model's output changes when its input is perturbed.

FMEval's ``GeneralSemanticRobustness``: each input is perturbed ``num_perturbations`` times
(butter-finger typos, random upper case, or whitespace added/removed; see
:mod:`~mlflow_llm_eval.fmeval.perturbations`), the model is re-run on every perturbed input,
and the outputs are compared with the output for the original input:

- ``semantic_robustness_wer``: word error rate of the perturbed outputs against the original
  output, pooled over the perturbations as HF ``evaluate``'s ``wer`` does (FMEval's
  ``word_error_rate``): ``sum(word edits) / sum(words of the original output)``. Words are
  jiwer's (runs of whitespace collapsed, split on single spaces).
- ``semantic_robustness_bertscore_dissimilarity``: ``1 - mean BERTScore`` of the perturbed
  outputs against the original output (FMEval's ``bertscore_dissimilarity``; default model
  microsoft/deberta-xlarge-mnli, see :mod:`~mlflow_llm_eval.fmeval.bertscore`);
- ``semantic_robustness_delta_<metric>``: the mean absolute change of an accuracy metric
  (``qa_f1``, ``factual_knowledge``, ``meteor``, ...) between the original output and each
  perturbed output, scored against the row's target (FMEval's ``delta_<score>`` of the
  QA/summarization/classification robustness algorithms).

A model whose output changes on the *same* input is non-deterministic; like FMEval, it is
detected by calling the model twice on the first 5 inputs, and then the WER is reported as
``max(0, WER - baseline WER)``, where the baseline is the WER between ``num_baseline_samples``
outputs for the unchanged input (all pairs); the same for the dissimilarity, whose baseline
follows FMEval's construction exactly (each pair's second output is scored against the best of
all the pairs' first outputs). ``deterministic=True/False`` skips the check.

The model is given at construction (a callable, a pyfunc model, or an endpoint URI; see
:mod:`~mlflow_llm_eval.fmeval.models`). The original output is the row's prediction when the
data has one, else the model is called. Several metrics can share one :class:`PerturbedRuns`
(pass it as ``model``) so the model runs once per perturbed input.

    >>> echo = lambda prompts: [p.lower() for p in prompts]
    >>> wer = semantic_robustness_wer(echo, perturbation_type="random_upper_case")
    >>> wer.score_batch({"inputs": ["Hello there world"]}).scores
    [0.0]
    >>> word_error_rate(["a b d"], ["a b c"])
    0.3333333333333333
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from typing import Any

from mlflow_llm_eval.core.text import check_text
from mlflow_llm_eval.core.types import Metric, MetricResult, RowBatch, RowScore
from mlflow_llm_eval.fmeval.perturbed_runs import PerturbedRun, PerturbedRuns

_SPACES = re.compile(r"\s\s+")


def words(text: str) -> list[str]:
    """jiwer's default WER words: whitespace runs collapsed, stripped, split on single spaces."""
    return [w for w in _SPACES.sub(" ", text).strip().split(" ") if w]


def word_error_rate(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Pooled WER, ``evaluate.load("wer")`` semantics: total edits / total reference words.

    Word-level Levenshtein distance by rapidfuzz (hand-wired here instead of jiwer, which is not
    a dependency; the edit count S+D+I equals jiwer's alignment cost). Raises ValueError for an
    empty reference, as jiwer does.
    """
    from rapidfuzz.distance import Levenshtein

    edits = total = 0
    for prediction, reference in zip(predictions, references, strict=True):
        ref = words(reference)
        if not ref:
            raise ValueError("a reference output is empty: word error rate is undefined")
        edits += Levenshtein.distance(words(prediction), ref)
        total += len(ref)
    return edits / total


def _run_texts(run: PerturbedRun | RowScore) -> tuple[str, list[str], list[str]] | RowScore:
    """The original, perturbed and baseline outputs as text, or why the row cannot be scored."""
    if isinstance(run, RowScore):
        return run
    groups: list[list[str]] = []
    for what, values in (
        ("original output", [run.original]),
        ("perturbed output", run.perturbed_outputs),
        ("baseline output", run.baseline_outputs),
    ):
        texts = []
        for value in values:
            checked = check_text(value, column=what, allow_empty=True)
            if checked.unscored is not None:
                return RowScore.unscored(
                    checked.unscored.status, f"the model's {what}: {checked.unscored.reason}"
                )
            texts.append(checked.text)
        groups.append(texts)  # type: ignore[arg-type]
    return groups[0][0], groups[1], groups[2]


class _Robustness(Metric):
    """Shared wiring: the runs, the row loop, and the per-run measure of a subclass."""

    version = "v1"
    requires: tuple[str, ...] = ("inputs",)
    optional: tuple[str, ...] = ("predictions",)

    def __init__(self, model: Any, **options: Any) -> None:
        self.runs = model if isinstance(model, PerturbedRuns) else PerturbedRuns(model, **options)
        if isinstance(model, PerturbedRuns) and options:
            raise ValueError(
                f"options {sorted(options)} belong to the PerturbedRuns given as model"
            )

    def score_batch(self, rows: RowBatch) -> MetricResult:
        runs = self.runs.runs(rows["inputs"], rows.get("predictions"))
        return MetricResult.from_rows(self.measure(runs, rows))

    def measure(self, runs: list[PerturbedRun | RowScore], rows: RowBatch) -> list[RowScore]:
        raise NotImplementedError

    def metadata(self) -> dict[str, Any]:
        return {
            **super().metadata(),
            "options": {
                "perturbation": self.runs.describe(),
                "deterministic": self.runs.deterministic,
                "num_baseline_samples": self.runs.num_baseline_samples,
                "prompt_template": self.runs.prompt_template,
            },
        }


class SemanticRobustnessWER(_Robustness):
    name = "semantic_robustness_wer"
    value_kind = "unbounded"  # WER can exceed 1
    greater_is_better = False

    def __init__(self, model: Any, **options: Any) -> None:
        super().__init__(model, **options)
        self.description = (
            f"word error rate of outputs for perturbed inputs vs the original "
            f"output ({self.runs.describe()}), minus the non-determinism baseline "
            "(FMEval GeneralSemanticRobustness word_error_rate)"
        )

    def measure(self, runs: list[PerturbedRun | RowScore], rows: RowBatch) -> list[RowScore]:
        return [
            self._wer(texts) if isinstance(texts, tuple) else texts
            for texts in map(_run_texts, runs)
        ]

    @staticmethod
    def _wer(texts: tuple[str, list[str], list[str]]) -> RowScore:
        original, perturbed, baseline = texts
        if not words(original):
            return RowScore.unscored(
                "empty", "the model's original output is empty: WER is undefined"
            )
        wer = word_error_rate(perturbed, [original] * len(perturbed))
        note = f"WER {wer:.4g} over {len(perturbed)} perturbations"
        if not baseline:
            return RowScore.ok(wer, note)
        pairs = list(itertools.combinations(baseline + [original], 2))
        try:
            base = word_error_rate([a for a, _ in pairs], [b for _, b in pairs])
        except ValueError as exc:
            return RowScore.unscored("empty", f"baseline: {exc}")
        return RowScore.ok(max(0.0, wer - base), f"{note}, minus baseline WER {base:.4g}")


class SemanticRobustnessDelta(_Robustness):
    value_kind = "unbounded"
    greater_is_better = False

    def __init__(self, model: Any, metric: Metric | str, **options: Any) -> None:
        if isinstance(metric, str):
            from mlflow_llm_eval.core.registry import get_metric

            metric = get_metric(metric)
        if not isinstance(metric, Metric) or "predictions" not in metric.requires:
            raise ValueError(
                f"metric must be a Metric (or name) that scores predictions, got {metric!r}"
            )
        super().__init__(model, **options)
        self.metric = metric
        self.name = f"semantic_robustness_delta_{metric.name}"
        self.requires = ("inputs",) + tuple(c for c in metric.requires if c != "predictions")
        self.description = (
            f"mean |{metric.name}(original output) - {metric.name}(perturbed output)|"
            f" ({self.runs.describe()}) (FMEval delta_<score>)"
        )

    def measure(self, runs: list[PerturbedRun | RowScore], rows: RowBatch) -> list[RowScore]:
        extra = [c for c in self.metric.requires if c != "predictions"]
        batch: dict[str, list[Any]] = {"predictions": [], **{c: [] for c in extra}}
        spans: list[tuple[int, int] | None] = []
        for i, run in enumerate(runs):
            if isinstance(run, RowScore):
                spans.append(None)
                continue
            outputs = [run.original, *run.perturbed_outputs]
            spans.append((len(batch["predictions"]), len(outputs)))
            batch["predictions"].extend(outputs)
            for c in extra:
                batch[c].extend([rows[c][i]] * len(outputs))
        scored = self.metric.score_batch(batch) if batch["predictions"] else None
        result: list[RowScore] = []
        for run, span in zip(runs, spans, strict=True):
            if span is None:
                result.append(run)  # type: ignore[arg-type]
                continue
            start, n = span
            assert scored is not None  # a row with a span had its outputs scored
            values = scored.scores[start : start + n]
            bad = next((j for j, v in enumerate(values) if math.isnan(v)), None)
            if bad is not None:
                which = "original output" if bad == 0 else f"perturbed output {bad}"
                result.append(
                    RowScore.unscored(
                        scored.statuses[start + bad],
                        f"{self.metric.name} of the {which}: {scored.reasons[start + bad]}",
                    )
                )
                continue
            deltas = [abs(values[0] - v) for v in values[1:]]
            result.append(
                RowScore.ok(
                    sum(deltas) / len(deltas),
                    f"{self.metric.name}: original {values[0]:.4g}, perturbed "
                    + ", ".join(f"{v:.4g}" for v in values[1:]),
                )
            )
        return result


class SemanticRobustnessBERTScoreDissimilarity(_Robustness):
    """1 - mean BERTScore of the perturbed outputs against the original output."""

    name = "semantic_robustness_bertscore_dissimilarity"
    value_kind, value_range = "bounded", (0.0, 2.0)  # 1 - BERTScore
    greater_is_better = False

    def __init__(
        self,
        model: Any,
        *,
        bertscore_model: str | None = None,
        num_layers: int | None = None,
        device: str = "auto",
        precision: str = "auto",
        **options: Any,
    ) -> None:
        from mlflow_llm_eval.fmeval.bertscore import BERTScore

        super().__init__(model, **options)
        self.scorer = BERTScore(
            model=bertscore_model, num_layers=num_layers, device=device, precision=precision
        )
        self.description = (
            f"1 - mean BERTScore ({self.scorer.model_source}) of outputs for "
            f"perturbed inputs vs the original output ({self.runs.describe()}), "
            "minus the non-determinism baseline (FMEval GeneralSemanticRobustness "
            "bertscore_dissimilarity)"
        )

    def measure(self, runs: list[PerturbedRun | RowScore], rows: RowBatch) -> list[RowScore]:
        # Pairs are (hypothesis, reference). Baseline as FMEval builds it: for every pair of
        # outputs to the unchanged input, the second output's best BERTScore against all the
        # pairs' first outputs.
        plans: list[RowScore | tuple[list[tuple[str, str]], list[list[tuple[str, str]]]]] = []
        for texts in map(_run_texts, runs):
            if isinstance(texts, RowScore):
                plans.append(texts)
                continue
            original, perturbed, baseline = texts
            pairs = list(itertools.combinations(baseline + [original], 2))
            firsts = [a for a, _ in pairs]
            plans.append(
                ([(p, original) for p in perturbed], [[(b, a) for a in firsts] for _, b in pairs])
            )
        wanted = list(
            dict.fromkeys(
                pair
                for plan in plans
                if not isinstance(plan, RowScore)
                for pair in plan[0] + [p for group in plan[1] for p in group]
            )
        )
        if self.scorer.unavailable_reason is None and wanted:
            from mlflow_llm_eval.hf import ModelUnavailableError

            try:
                scores = dict(zip(wanted, self.scorer.score_pairs(wanted)[0]))
            except ModelUnavailableError as exc:
                self.scorer._unavailable = str(exc)
        if self.scorer.unavailable_reason is not None:
            return [
                plan
                if isinstance(plan, RowScore)
                else RowScore.unscored("unavailable", self.scorer.unavailable_reason)
                for plan in plans
            ]
        result = []
        for plan in plans:
            if isinstance(plan, RowScore):
                result.append(plan)
                continue
            perturbed_pairs, baseline_groups = plan
            dissimilarity = 1 - sum(scores[p] for p in perturbed_pairs) / len(perturbed_pairs)
            note = f"dissimilarity {dissimilarity:.4g} over {len(perturbed_pairs)} perturbations"
            if not baseline_groups:
                result.append(RowScore.ok(dissimilarity, note))
                continue
            base = 1 - sum(max(scores[p] for p in group) for group in baseline_groups) / len(
                baseline_groups
            )
            result.append(
                RowScore.ok(max(0.0, dissimilarity - base), f"{note}, minus baseline {base:.4g}")
            )
        return result


def semantic_robustness_bertscore_dissimilarity(
    model: Any = None, **options: Any
) -> SemanticRobustnessBERTScoreDissimilarity:
    """FMEval general semantic robustness BERTScore dissimilarity (needs the model)."""
    return SemanticRobustnessBERTScoreDissimilarity(model, **options)


def semantic_robustness_wer(model: Any = None, **options: Any) -> SemanticRobustnessWER:
    """FMEval general semantic robustness word error rate (needs the model; see module doc)."""
    return SemanticRobustnessWER(model, **options)


def semantic_robustness_delta(
    model: Any = None, metric: Metric | str = "qa_f1", **options: Any
) -> SemanticRobustnessDelta:
    """Mean absolute change of ``metric`` under perturbation (FMEval ``delta_<score>``)."""
    return SemanticRobustnessDelta(model, metric, **options)


METRICS = {
    "semantic_robustness_wer": semantic_robustness_wer,
    "semantic_robustness_delta": semantic_robustness_delta,
    "semantic_robustness_bertscore_dissimilarity": semantic_robustness_bertscore_dissimilarity,
}
