"""Pick one model: maximize (or minimize) one run metric under constraints, with defined ties.

The rule, applied to each model's aggregates (``<name>/<version>/<aggregation>``):

1. A model is **eligible** when its evaluation did not fail, the objective metric was logged as a
   finite number, and every constraint holds. A constraint on a metric the model did not log
   (or logged as NaN) does not hold.
2. The winner is the eligible model with the best objective value. Values within ``tolerance``
   of the best count as a **tie**; ties are broken by each tie-breaker objective in turn
   (same tolerance; a missing value ranks last), then by **model order** (the first declared
   model wins).
3. With ``require_significance=alpha`` (a mean objective and per-row ``scores`` on each
   candidate), the best model must beat the runner-up in a paired test on the rows both scored
   (:mod:`mlflow_llm_eval.core.paired`: sign-flip permutation test, Holm-adjusted over the best
   model's comparisons with every other eligible model). Models not significantly different from
   the best count as tied with it, and the tie-breakers (then model order) decide among them;
   the reason says so.
4. With no eligible model there is **no winner**, and the reason says why for every model.

    >>> c = [Candidate("a", {"q/v1/mean": 0.8, "latency/v1/p90": 3.0}),
    ...      Candidate("b", {"q/v1/mean": 0.7, "latency/v1/p90": 1.0}),
    ...      Candidate("c", {}, failure="ConnectionError: refused")]
    >>> s = select_winner(c, Objective("q/v1/mean", "maximize"), [Constraint.parse("latency/v1/p90 < 2")])
    >>> s.winner, s.rejected["a"]
    ('b', 'latency/v1/p90 = 3 does not satisfy < 2')
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Direction = Literal["maximize", "minimize"]

_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_CONSTRAINT = re.compile(
    rf"^\s*(?P<key>[A-Za-z0-9_.\-]+(?:/[A-Za-z0-9_.\-]+)*)\s*(?P<op><=|>=|==|!=|<|>)\s*"
    rf"(?P<value>{_NUMBER})\s*$"
)


def language_key(key: str, language: str | None) -> str:
    """The run metric of ``key`` over one language's rows (``<metric>/lang_<code>/<agg>``, as
    :mod:`mlflow_llm_eval.core.by_language` logs it); ``key`` itself for no language.

    >>> language_key("rougeL/v1/mean", "ko"), language_key("rougeL/v1/mean", None)
    ('rougeL/v1/lang_ko/mean', 'rougeL/v1/mean')
    """
    if language is None:
        return key
    metric, _, aggregation = key.rpartition("/")
    return f"{metric}/lang_{language}/{aggregation}"


def _fmt(value: float) -> str:
    return f"{value:.4g}"


@dataclass(frozen=True)
class Objective:
    """One run metric to maximize or minimize."""

    key: str
    direction: Direction = "maximize"

    def __post_init__(self) -> None:
        if self.direction not in ("maximize", "minimize"):
            raise ValueError(f"direction must be 'maximize' or 'minimize', got {self.direction!r}")
        if not self.key or " " in self.key:
            raise ValueError(
                f"an objective needs a run metric key like 'rougeL/v1/mean', got {self.key!r}"
            )

    def rank_value(self, metrics: Mapping[str, float]) -> float:
        """Larger is better; a missing or NaN value ranks last (-inf)."""
        value = _finite(metrics.get(self.key))
        if value is None:
            return -math.inf
        return value if self.direction == "maximize" else -value

    def __str__(self) -> str:
        return f"{self.direction} {self.key}"


@dataclass(frozen=True)
class Constraint:
    """``<metric key> <op> <number>``, e.g. ``latency/v1/p90 < 2.0``.

    >>> Constraint.parse("toxicity/v1/ratio <= 0.01").holds(0.0)
    True
    >>> Constraint.parse("latency/v1/p90 < 2").holds(float("nan"))
    False
    """

    key: str
    op: str
    value: float

    @classmethod
    def parse(cls, text: str) -> Constraint:
        match = _CONSTRAINT.match(str(text))
        if match is None:
            raise ValueError(
                f"cannot read the constraint {text!r}: write '<metric key> <op> <number>' with "
                f"<op> one of {' '.join(_OPERATORS)}, e.g. 'latency/v1/p90 < 2.0'"
            )
        return cls(match["key"], match["op"], float(match["value"]))

    def holds(self, value: float | None) -> bool:
        finite = _finite(value)
        return finite is not None and _OPERATORS[self.op](finite, self.value)

    def violation(self, metrics: Mapping[str, float]) -> str | None:
        """Why the constraint fails for these metrics, or ``None`` if it holds."""
        value = _finite(metrics.get(self.key))
        if value is None:
            return f"{self.key} was not logged (or is NaN), so '{self}' cannot hold"
        if not self.holds(value):
            return f"{self.key} = {_fmt(value)} does not satisfy {self.op} {_fmt(self.value)}"
        return None

    def __str__(self) -> str:
        return f"{self.key} {self.op} {_fmt(self.value)}"


@dataclass(frozen=True)
class Candidate:
    """A model's outcome as the rule sees it: its run metrics, or why its evaluation failed."""

    name: str
    metrics: Mapping[str, float]
    failure: str | None = None
    #: Per-row scores of the objective's metric, row-aligned across candidates (paired tests).
    scores: Sequence[float] | None = None


@dataclass
class Selection:
    """The outcome of :func:`select_winner`."""

    winner: str | None
    reason: str
    #: Eligible models, best first (ties in model order).
    ranking: list[str] = field(default_factory=list)
    #: Ineligible model -> why.
    rejected: dict[str, str] = field(default_factory=dict)
    #: What decided among tied models: a tie-breaker key, "model order", or None (no tie).
    tie_broken_by: str | None = None
    #: The best model's paired comparisons with the other eligible models (require_significance).
    comparisons: list[Any] = field(default_factory=list)


def _finite(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _eligibility(
    candidate: Candidate, objective: Objective, constraints: Sequence[Constraint]
) -> str | None:
    if candidate.failure is not None:
        return f"evaluation failed: {candidate.failure}"
    if _finite(candidate.metrics.get(objective.key)) is None:
        return f"{objective.key} was not logged (or is NaN)"
    violations = [v for c in constraints if (v := c.violation(candidate.metrics)) is not None]
    return "; ".join(violations) if violations else None


def _within(values: list[float], best: float, tolerance: float) -> list[bool]:
    if math.isinf(best):  # every remaining value is missing: all tie
        return [math.isinf(v) for v in values]
    return [not math.isinf(v) and best - v <= tolerance for v in values]


def select_winner(
    candidates: Sequence[Candidate],
    objective: Objective,
    constraints: Sequence[Constraint] = (),
    tie_breakers: Sequence[Objective] = (),
    tolerance: float = 0.0,
    require_significance: float | None = None,
    value_kind: str = "unbounded",
    value_range: Sequence[float] | None = None,
) -> Selection:
    """Apply the rule described in the module docstring; candidates are in model order.

    ``value_kind``/``value_range`` describe the objective metric's scores (for the paired
    difference's interval; the p-value does not depend on them).
    """
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    if require_significance is not None and not 0 < require_significance < 1:
        raise ValueError(f"require_significance must be in (0, 1), got {require_significance}")
    rejected = {
        c.name: why
        for c in candidates
        if (why := _eligibility(c, objective, constraints)) is not None
    }
    eligible = [c for c in candidates if c.name not in rejected]
    if not eligible:
        return Selection(None, _no_winner_reason(candidates, rejected), [], rejected)
    chain = [objective, *tie_breakers]
    ranking = [
        c.name
        for c in sorted(eligible, key=lambda c: tuple(-o.rank_value(c.metrics) for o in chain))
    ]
    tied, decided_by = list(eligible), None
    comparisons: list[Any] = []
    significance_note = ""
    if require_significance is not None and len(eligible) > 1:
        best = next(c for c in eligible if c.name == ranking[0])
        comparisons = _compare_best(best, eligible, objective, value_kind, value_range)
        p_of = {c.model: c.p_holm for c in comparisons}
        runner_up = ranking[1]
        if p_of[runner_up] < require_significance:
            tied = [best]
            significance_note = (
                f"; significantly better than the runner-up {runner_up} "
                f"(paired p = {_fmt(p_of[runner_up])} < {_fmt(require_significance)}"
                f"{', Holm-adjusted' if len(comparisons) > 1 else ''})"
            )
        else:
            tied = [c for c in eligible if c is best or not p_of[c.name] < require_significance]
            significance_note = (
                f"; not significantly better than {', '.join(c.name for c in tied if c is not best)} "
                f"(paired p = {_fmt(p_of[runner_up])} >= {_fmt(require_significance)} vs the "
                f"runner-up {runner_up}), so the tie-breakers decided"
            )
            chain = list(tie_breakers)  # the objective no longer separates the tied models
    for current in chain:
        if len(tied) == 1:
            break
        values = [current.rank_value(c.metrics) for c in tied]
        keep = _within(values, max(values), tolerance)
        tied = [c for c, k in zip(tied, keep) if k]
        if len(tied) == 1:
            decided_by = None if current is objective else current.key
            break
    else:
        decided_by = "model order" if len(tied) > 1 else decided_by
    winner = tied[0]
    # Put the winner first even when a tolerance tie reorders the strict ranking.
    ranking = [winner.name] + [n for n in ranking if n != winner.name]
    value = float(winner.metrics[objective.key])
    reason = (
        f"{winner.name} has the best {objective.key} ({_fmt(value)}, {objective.direction}d) "
        f"among {len(eligible)} eligible of {len(candidates)} models"
    )
    reason += significance_note
    if decided_by is not None:
        reason += f"; tie broken by {decided_by}"
    return Selection(winner.name, reason, ranking, rejected, decided_by, comparisons)


def _compare_best(
    best: Candidate,
    eligible: Sequence[Candidate],
    objective: Objective,
    value_kind: str,
    value_range: Sequence[float] | None,
) -> list[Any]:
    from mlflow_llm_eval.core.paired import compare_to_reference

    missing = [c.name for c in eligible if c.scores is None]
    if missing:
        raise ValueError(
            f"require_significance needs each model's per-row scores of "
            f"{objective.key}; missing for {missing}"
        )
    scores = {c.name: list(c.scores or []) for c in eligible}
    return compare_to_reference(scores, best.name, objective.key, value_kind, value_range)


def _no_winner_reason(candidates: Sequence[Candidate], rejected: Mapping[str, str]) -> str:
    if not candidates:
        return "no winner: there were no models to compare"
    if all(c.failure is not None for c in candidates):
        return f"no winner: all {len(candidates)} model evaluations failed"
    details = "; ".join(f"{name}: {why}" for name, why in rejected.items())
    return f"no winner: no model is eligible ({details})"
