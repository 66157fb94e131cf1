"""exact_match: 1.0 when the prediction equals the target, else 0.0 (MLflow's definition).

MLflow compares the strings as they are (no normalisation); so do we by default. ``strip=True``
ignores surrounding whitespace, ``ignore_case=True`` compares case-folded text.

    >>> exact_match().score_batch({"predictions": ["Paris", "paris"], "targets": ["Paris"] * 2}).scores
    [1.0, 0.0]
    >>> exact_match(ignore_case=True).score_batch({"predictions": ["paris"], "targets": ["Paris"]}).scores
    [1.0]
"""

from __future__ import annotations

from mlflow_llm_eval.core.text import score_text_rows
from mlflow_llm_eval.core.types import Metric, MetricResult, RowBatch, RowScore


class ExactMatch(Metric):
    name = "exact_match"
    value_kind = "binary"
    version = "v1"
    greater_is_better = True
    requires = ("predictions", "targets")
    headline_aggregation = "mean"
    description = "1 if the prediction equals the target string, else 0 (MLflow exact_match)"

    def __init__(self, *, strip: bool = False, ignore_case: bool = False) -> None:
        self.strip, self.ignore_case = bool(strip), bool(ignore_case)

    def _normalise(self, text: str) -> str:
        text = text.strip() if self.strip else text
        return text.casefold() if self.ignore_case else text

    def score_batch(self, rows: RowBatch) -> MetricResult:
        return score_text_rows(
            [("predictions", rows["predictions"]), ("targets", rows["targets"])],
            lambda valid: [
                RowScore.ok(float(self._normalise(p) == self._normalise(t))) for p, t in valid
            ],
            allow_empty=True,
        )


def exact_match(*, strip: bool = False, ignore_case: bool = False) -> ExactMatch:
    """Exact string match of prediction and target."""
    return ExactMatch(strip=strip, ignore_case=ignore_case)


METRICS = {"exact_match": exact_match}
