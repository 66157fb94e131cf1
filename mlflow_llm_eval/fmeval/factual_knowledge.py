"""factual_knowledge: does the output contain the expected fact? (FMEval ``FactualKnowledge``)

Per row 1.0 when a target is contained in the model output, else 0.0. Targets are split on
``target_output_delimiter`` (``<OR>`` by default); with ``logical_operator="OR"`` one target
suffices, with ``"AND"`` every target must appear. Two variants, as in FMEval:

- ``factual_knowledge`` (FMEval's ``factual_knowledge`` score, "exact inclusion"): the
  lower-cased target is a substring of the lower-cased output;
- ``factual_knowledge_quasi_exact``: both are first stripped and normalised the QuAC way
  (lower case, no punctuation, no articles, single spaces).

    >>> fk = factual_knowledge()
    >>> fk.score_batch({"predictions": ["Germany, and its largest city", "France"],
    ...                 "targets": ["germany<OR>Deutschland", "Germany"]}).scores
    [1.0, 0.0]
    >>> factual_knowledge_quasi_exact().score_batch(
    ...     {"predictions": ["It is the U.S.A."], "targets": ["USA"]}).scores
    [1.0]
    >>> factual_knowledge(logical_operator="AND", target_output_delimiter="<AND>").score_batch(
    ...     {"predictions": ["red and blue"], "targets": ["red<AND>yellow<AND>blue"]}).scores
    [0.0]
"""

from __future__ import annotations

import logging

from mlflow_llm_eval.core.types import Metric, MetricResult, RowBatch, RowScore
from mlflow_llm_eval.fmeval._common import (
    DEFAULT_DELIMITER,
    normalize_quac,
    score_against_targets,
    validate_delimiter,
)

_logger = logging.getLogger(__name__)
LOGICAL_OPERATORS = ("OR", "AND")


def exact_inclusion(output: str, target: str) -> float:
    """FMEval's ``_exact_inclusion_score``: lower-cased target in lower-cased output."""
    return float(target.lower() in output.lower())


def quasi_exact_inclusion(output: str, target: str) -> float:
    """FMEval's ``_quasi_exact_inclusion_score``: inclusion after QuAC normalisation."""
    return float(normalize_quac(target.strip()) in normalize_quac(output.strip()))


class FactualKnowledge(Metric):
    """Inclusion of the target fact(s) in the output; configuration validated here."""

    version = "v1"
    greater_is_better = True
    value_kind = "binary"
    requires = ("predictions", "targets")
    headline_aggregation = "mean"

    def __init__(
        self,
        *,
        quasi_exact: bool = False,
        target_output_delimiter: str | None = DEFAULT_DELIMITER,
        logical_operator: str = "OR",
    ) -> None:
        if logical_operator not in LOGICAL_OPERATORS:
            raise ValueError(
                f"logical_operator must be one of {LOGICAL_OPERATORS}, got {logical_operator!r}"
            )
        self.delimiter = validate_delimiter(target_output_delimiter)
        if self.delimiter in ("<OR>", "<AND>") and self.delimiter != f"<{logical_operator}>":
            _logger.warning(  # FMEval warns about the same inconsistency
                "target_output_delimiter %r and logical_operator %r are not consistent",
                self.delimiter,
                logical_operator,
            )
        self.quasi_exact = bool(quasi_exact)
        self.logical_operator = logical_operator
        self.name = "factual_knowledge_quasi_exact" if self.quasi_exact else "factual_knowledge"
        self._include = quasi_exact_inclusion if self.quasi_exact else exact_inclusion
        matching = "after QuAC normalisation" if self.quasi_exact else "ignoring case"
        need = "any" if logical_operator == "OR" else "every"
        self.description = (
            f"1 if {need} target (split on {self.delimiter!r}) is contained in the output "
            f"{matching}, else 0 (FMEval FactualKnowledge)"
        )

    def _score(self, output: str, targets: list[str]) -> RowScore:
        hits = [self._include(output, target) for target in targets]
        return RowScore.ok(max(hits) if self.logical_operator == "OR" else min(hits))

    def score_batch(self, rows: RowBatch) -> MetricResult:
        return MetricResult.from_rows(
            score_against_targets(rows["predictions"], rows["targets"], self.delimiter, self._score)
        )


def factual_knowledge(
    *, target_output_delimiter: str | None = DEFAULT_DELIMITER, logical_operator: str = "OR"
) -> FactualKnowledge:
    """FMEval's ``factual_knowledge`` score: case-insensitive inclusion of a target."""
    return FactualKnowledge(
        target_output_delimiter=target_output_delimiter, logical_operator=logical_operator
    )


def factual_knowledge_quasi_exact(
    *, target_output_delimiter: str | None = DEFAULT_DELIMITER, logical_operator: str = "OR"
) -> FactualKnowledge:
    """FMEval's ``factual_knowledge_quasi_exact`` score: inclusion after QuAC normalisation."""
    return FactualKnowledge(
        quasi_exact=True,
        target_output_delimiter=target_output_delimiter,
        logical_operator=logical_operator,
    )


METRICS = {
    "factual_knowledge": factual_knowledge,
    "factual_knowledge_quasi_exact": factual_knowledge_quasi_exact,
}
