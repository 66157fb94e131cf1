"""Paired comparisons of models scored on the same rows: difference of means, interval, p-value.

For two models' per-row scores ``a`` and ``b`` (NaN = unscored; only rows both scored count),
the per-row differences ``d = a - b`` give the mean difference, its 95% interval (the
small-sample BCa bootstrap of :mod:`.intervals`, without pseudo-rows: differences are centred,
not piled against a bound), and a two-sided p-value from a **sign-flip
permutation test** of the mean difference (``scipy.stats.permutation_test`` with paired
samples: exact up to 2^13 distinct sign patterns, else 9,999 seeded flips). The sign-flip test
tests exactly the quantity reported (the mean difference) and is exact with ties and zero
differences, which 0/1 and 1–5 scores are full of; Wilcoxon's signed-rank test ranks the
differences instead and needs a rule for zeros. With several comparisons, p-values are
Holm-adjusted (step-down, controls the family-wise error rate).

    >>> r = paired_difference([1, 1, 1, 1, 1, 1, 1, 1, 0, 1], [0, 0, 0, 0, 0, 0, 0, 1, 0, 0], "binary")
    >>> r.n, r.mean_diff, round(r.p_value, 4)
    (10, 0.8, 0.0078)
    >>> holm([0.01, 0.04, 0.03])
    [0.03, 0.06, 0.06]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from mlflow_llm_eval.core.intervals import SEED, interval

#: Up to this many resamples the sign-flip test enumerates every sign pattern (scipy's rule).
N_FLIPS = 9999


@dataclass(frozen=True)
class PairedResult:
    """``a - b`` over the rows both models scored."""

    n: int
    mean_diff: float
    ci_low: float
    ci_high: float
    p_value: float
    ci_method: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sign_flip_p_value(d: np.ndarray, seed: int = SEED) -> float:
    """Two-sided p-value of the sign-flip permutation test that the mean difference is 0."""
    nonzero = d[d != 0]
    if len(nonzero) < 2:  # 0 or 2 sign patterns, each as extreme as the observed one
        return 1.0
    from scipy import stats

    result = stats.permutation_test(
        (nonzero, np.zeros_like(nonzero)),
        lambda x, y, axis: np.mean(x - y, axis=axis),
        permutation_type="samples",
        vectorized=True,
        n_resamples=N_FLIPS,
        alternative="two-sided",
        rng=np.random.default_rng(seed),
    )
    return float(min(1.0, result.pvalue))


def paired_difference(
    a: Sequence[float],
    b: Sequence[float],
    value_kind: str = "unbounded",
    value_range: Sequence[float] | None = None,
    seed: int = SEED,
) -> PairedResult:
    """The paired comparison of ``a`` and ``b`` (same rows, same order)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"paired scores need the same rows: {len(x)} and {len(y)} values")
    both = np.isfinite(x) & np.isfinite(y)
    d = x[both] - y[both]
    if len(d) == 0:
        return PairedResult(0, math.nan, math.nan, math.nan, math.nan, "undefined")
    found = interval("unbounded", d, seed=seed)  # value_kind/value_range: kept for other methods
    return PairedResult(
        len(d), float(d.mean()), found.low, found.high, sign_flip_p_value(d, seed), found.method
    )


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the input order (NaN stays NaN).

    Written here (five lines) rather than importing statsmodels for it.
    """
    indexed = sorted((p, i) for i, p in enumerate(p_values) if not math.isnan(p))
    adjusted = [math.nan] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(indexed):
        running = max(running, min(1.0, (len(indexed) - rank) * p))
        adjusted[i] = running
    return adjusted


@dataclass(frozen=True)
class Comparison:
    """``reference - model`` on one metric, with the Holm-adjusted p-value among its family."""

    metric: str
    reference: str
    model: str
    result: PairedResult
    p_holm: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "reference": self.reference,
            "model": self.model,
            **self.result.as_dict(),
            "p_holm": self.p_holm,
        }


def compare_to_reference(
    scores: Mapping[str, Sequence[float]],
    reference: str,
    metric: str = "",
    value_kind: str = "unbounded",
    value_range: Sequence[float] | None = None,
    seed: int = SEED,
) -> list[Comparison]:
    """``reference`` against every other model of ``scores``; Holm over those comparisons."""
    others = [name for name in scores if name != reference]
    results = [
        paired_difference(scores[reference], scores[name], value_kind, value_range, seed)
        for name in others
    ]
    adjusted = holm([r.p_value for r in results])
    return [
        Comparison(metric, reference, name, r, p) for name, r, p in zip(others, results, adjusted)
    ]
