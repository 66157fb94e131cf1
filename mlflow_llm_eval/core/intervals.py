"""95% intervals for a metric's mean, chosen by the metric's declared value kind.

Every interval is computed from a mergeable :class:`ScoreSummary` (``n``, sum, sum of squares,
and the count of each distinct value while there are at most ``max_distinct`` of them), so a
distributed engine can build per-partition summaries, :meth:`~ScoreSummary.merge` them and get
the same interval as one machine. :func:`interval` on raw values goes through the summary.

=========  ====================================  ===============================================
kind       values                                interval for the mean
=========  ====================================  ===============================================
binary     0/1                                   Clopper–Pearson (exact binomial; never below
                                                 the nominal level for any true rate)
bounded    in ``[low, high]`` (default [0, 1])   BCa bootstrap from the value counts
ordinal    a judge scale, e.g. 1–5               BCa bootstrap from the value counts
unbounded  any real number                       BCa bootstrap from the value counts
=========  ====================================  ===============================================

The bootstrap is BCa (bias and skewness corrected, which the percentile bootstrap is not) with
two small-sample corrections, measured in ``benchmarks/results/intervals.md`` (plain BCa and
percentile intervals cover 90–93% at n = 30 on skewed scores): the normal quantile is widened
to ``√(n/(n-1))·t(n-1)`` (Hesterberg 2015), and a kind with a range (bounded, ordinal) bootstraps
its rows plus one pseudo-row at each end of the range, as Agresti–Coull add pseudo-counts to a
proportion, so a sample that happens to sit near one end does not claim a narrow interval.

Special cases: when every row has the same value, a bounded or ordinal interval reaches from
that value towards the ends of the range by the Clopper–Pearson bound on the share of rows that
could differ (all 30 rows at 5 on a 1–5 scale gives ``[4.54, 5]``); an unbounded one is that
value. A continuous kind (bounded, unbounded) over more than 20,000 rows gets the Student-t
interval on the moments, where the central limit theorem makes it accurate (see the same
results file); its summary keeps the counts of at most ``max_distinct`` (20,000) distinct
values, all a smaller sample can have. Binary and ordinal kinds use counts at any size.

    >>> interval("binary", [0.0] * 30).rounded(4)
    Interval(low=0.0, high=0.1157, method='clopper_pearson')
    >>> s = ScoreSummary.of([1, 2, 2]).merge(ScoreSummary.of([5, 5]))
    >>> s.n, s.counts
    (5, {1.0: 1, 2.0: 2, 5.0: 2})
    >>> interval_from_summary("ordinal", s, value_range=(1, 5)) == interval(
    ...     "ordinal", [5, 2, 1, 5, 2], value_range=(1, 5))
    True
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

VALUE_KINDS = ("binary", "bounded", "ordinal", "unbounded")
#: Distinct values a summary keeps; a continuous kind over more rows gets the t interval on
#: moments (the CLT holds there; a bootstrap would cost O(resamples x rows)).
MAX_DISTINCT = 20_000
CONTINUOUS = ("bounded", "unbounded")
#: Bootstrap resamples .
N_RESAMPLES = 2000
SEED = 0
#: Up to this many distinct values the resamples are multinomial draws over them.
_MULTINOMIAL_MAX = 16
METHODS = {
    "clopper_pearson": "Clopper–Pearson exact binomial interval",
    "bca_bootstrap": (
        "BCa bootstrap of the mean (seeded, from the value counts), small-sample "
        "expanded; bounded kinds add one pseudo-row at each end of the range"
    ),
    "one_value_bound": "all rows equal: Clopper–Pearson bound on the share that could differ",
    "one_value": "all rows equal (unbounded kind): the value itself",
    "t_moments": "Student-t interval from n, sum and sum of squares (many distinct values)",
    "undefined": "too few scored rows",
}


@dataclass(frozen=True)
class Interval:
    """An interval for the mean and the method that produced it (a key of ``METHODS``)."""

    low: float
    high: float
    method: str

    def rounded(self, digits: int) -> Interval:
        return Interval(round(self.low, digits), round(self.high, digits), self.method)


@dataclass(frozen=True)
class ScoreSummary:
    """What the interval of any kind needs; merge two with :meth:`merge` (associative).

    ``counts`` maps each distinct value to its number of rows, or is ``None`` once a summary
    has seen more than ``max_distinct`` distinct values (then only the moments remain).
    """

    n: int
    total: float
    total_sq: float
    counts: dict[float, int] | None

    @classmethod
    def of(cls, values: Iterable[float], max_distinct: int = MAX_DISTINCT) -> ScoreSummary:
        """The summary of finite values (NaN rows must be removed before)."""
        array = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, float)
        if array.size and not np.all(np.isfinite(array)):
            raise ValueError(
                "ScoreSummary.of takes finite values only; drop NaN (unscored) rows first"
            )
        distinct, counts = np.unique(array, return_counts=True)
        kept = (
            None
            if len(distinct) > max_distinct
            else {float(v): int(c) for v, c in zip(distinct, counts)}
        )
        return cls(int(array.size), float(np.sum(array)), float(np.sum(array * array)), kept)

    @classmethod
    def from_counts(cls, counts: Mapping[float, int]) -> ScoreSummary:
        """A summary from value counts alone (what a ``GROUP BY value`` returns)."""
        clean = {float(v): int(c) for v, c in counts.items() if int(c) > 0}
        return cls(
            sum(clean.values()),
            float(sum(v * c for v, c in clean.items())),
            float(sum(v * v * c for v, c in clean.items())),
            dict(sorted(clean.items())),
        )

    def merge(self, other: ScoreSummary, max_distinct: int = MAX_DISTINCT) -> ScoreSummary:
        counts = None
        if self.counts is not None and other.counts is not None:
            merged = dict(self.counts)
            for value, count in other.counts.items():
                merged[value] = merged.get(value, 0) + count
            counts = dict(sorted(merged.items())) if len(merged) <= max_distinct else None
        return ScoreSummary(
            self.n + other.n, self.total + other.total, self.total_sq + other.total_sq, counts
        )

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else math.nan


def ci_method(kind: str) -> str:
    """The method a kind's interval uses (its special cases are in ``METHODS``)."""
    return "clopper_pearson" if kind == "binary" else "bca_bootstrap"


def check_kind(kind: str, value_range: Sequence[float] | None = None) -> None:
    """Raise ValueError for an unknown kind or an ordinal kind without its scale."""
    if kind not in VALUE_KINDS:
        raise ValueError(f"value_kind must be one of {VALUE_KINDS}, got {kind!r}")
    if kind == "ordinal" and value_range is None:
        raise ValueError("an ordinal value_kind needs its scale as value_range, e.g. (1, 5)")
    if value_range is not None and not (len(value_range) == 2 and value_range[0] < value_range[1]):
        raise ValueError(f"value_range must be (low, high) with low < high, got {value_range!r}")


def default_range(kind: str, value_range: Sequence[float] | None) -> tuple[float, float] | None:
    if value_range is not None:
        return float(value_range[0]), float(value_range[1])
    return {"binary": (0.0, 1.0), "bounded": (0.0, 1.0)}.get(kind)


def clopper_pearson(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact binomial interval (scipy's ``binomtest(...).proportion_ci(method="exact")``)."""
    from scipy import stats

    ci = stats.binomtest(int(successes), int(n)).proportion_ci(level, method="exact")
    return float(ci.low), float(ci.high)


def t_interval(n: int, total: float, total_sq: float, level: float = 0.95) -> tuple[float, float]:
    """Student-t interval ``mean ± t(n-1)·s/√n`` from the moments; NaN with n < 2."""
    if n < 2:
        return math.nan, math.nan
    from scipy import stats

    mean = total / n
    variance = max(0.0, (total_sq - n * mean * mean) / (n - 1))
    half = float(stats.t.ppf(0.5 + level / 2, df=n - 1)) * math.sqrt(variance / n)
    return mean - half, mean + half


def bootstrap_means(
    values: np.ndarray, counts: np.ndarray, n_resamples: int = N_RESAMPLES, seed: int = SEED
) -> np.ndarray:
    """Means of ``n_resamples`` nonparametric bootstrap resamples of the rows given as counts.

    Resampling n rows with replacement is a multinomial draw over the distinct values: with few
    distinct values (discrete kinds, or many rows sharing few values) that costs O(resamples ·
    distinct values) whatever the number of rows; with many, rows are drawn by index (same
    distribution, faster per draw), in chunks.
    """
    rng = np.random.default_rng(seed)
    n = int(counts.sum())
    if len(values) <= _MULTINOMIAL_MAX or len(values) * 16 < n:  # the cheaper of the two draws
        means: np.ndarray = rng.multinomial(n, counts / n, size=n_resamples) @ values / n
        return means
    rows = np.repeat(values, counts.astype(np.int64))
    chunk = max(1, 2_000_000 // n)
    return np.concatenate(
        [
            rows[rng.integers(0, n, (min(chunk, n_resamples - start), n))].mean(axis=1)
            for start in range(0, n_resamples, chunk)
        ]
    )


def expanded_quantile(n: float, level: float = 0.95) -> float:
    """The normal quantile BCa uses, widened for small samples: ``√(n/(n-1)) · t(n-1)``.

    The bootstrap distribution of the mean is too narrow by ``√((n-1)/n)`` and normal where the
    t distribution applies (Hesterberg 2015, "What teachers should know about the bootstrap",
    §4.4); the factor tends to 1 as n grows, so large samples get plain BCa.
    """
    from scipy import stats

    return math.sqrt(n / (n - 1)) * float(stats.t.ppf(0.5 + level / 2, df=n - 1))


def bca_from_distribution(
    boot: np.ndarray,
    values: np.ndarray,
    counts: np.ndarray,
    level: float = 0.95,
    quantile: float | None = None,
) -> tuple[float, float]:
    """BCa endpoints from a bootstrap distribution of the mean (Efron 1987; scipy's formulas).

    The acceleration is the jackknife one, exact for the mean: ``Σ d³ / (6 (Σ d²)^1.5)`` with
    ``d`` each row's deviation from the mean; the bias correction counts ties as half, as scipy.
    ``quantile`` replaces the normal quantile ``z(0.5 + level/2)`` (see :func:`expanded_quantile`).
    """
    from scipy.special import ndtr, ndtri

    n = counts.sum()
    theta = float(values @ counts / n)
    d = values - theta
    spread = float(counts @ d**2)
    accel = float(counts @ d**3) / (6.0 * spread**1.5) if spread > 0 else 0.0
    share = float(np.sum(boot < theta) + np.sum(boot <= theta)) / (2.0 * len(boot))
    share = min(max(share, 0.5 / len(boot)), 1 - 0.5 / len(boot))
    z0 = float(ndtri(share))
    z = float(ndtri(0.5 + level / 2)) if quantile is None else quantile
    ends = [float(ndtr(z0 + (z0 + q) / (1 - accel * (z0 + q)))) for q in (-z, z)]
    low, high = np.percentile(boot, [100 * ends[0], 100 * ends[1]])
    return float(low), float(high)


def interval_from_summary(
    kind: str,
    summary: ScoreSummary,
    *,
    value_range: Sequence[float] | None = None,
    level: float = 0.95,
    n_resamples: int = N_RESAMPLES,
    seed: int = SEED,
) -> Interval:
    """The interval for the mean of ``summary`` by the method of ``kind`` (module docstring)."""
    check_kind(kind, value_range)
    bounds = default_range(kind, value_range)
    n = summary.n
    if n == 0:
        return Interval(math.nan, math.nan, "undefined")
    counts = summary.counts
    if kind == "binary" and (counts is None or set(counts) <= {0.0, 1.0}):
        successes = counts.get(1.0, 0) if counts is not None else round(summary.total)
        return Interval(*clopper_pearson(successes, n, level), "clopper_pearson")
    if counts is None or (kind in CONTINUOUS and n > MAX_DISTINCT):
        low, high = t_interval(n, summary.total, summary.total_sq, level)
        if bounds is not None:
            low, high = max(low, bounds[0]), min(high, bounds[1])
        return Interval(low, high, "t_moments")
    if len(counts) == 1:
        (value,) = counts
        if bounds is None:
            return (
                Interval(value, value, "one_value")
                if n >= 2
                else Interval(math.nan, math.nan, "undefined")
            )
        share = clopper_pearson(0, n, level)[1]
        return Interval(
            value - (value - bounds[0]) * share,
            value + (bounds[1] - value) * share,
            "one_value_bound",
        )
    if bounds is not None:  # one pseudo-row at each end of the range (see the module docstring)
        counts = dict(counts)
        for end in bounds:
            counts[end] = counts.get(end, 0) + 1
    values = np.fromiter(counts.keys(), float, len(counts))
    weights = np.fromiter(counts.values(), float, len(counts))
    boot = bootstrap_means(values, weights, n_resamples, seed)
    quantile = expanded_quantile(n, level)
    return Interval(*bca_from_distribution(boot, values, weights, level, quantile), "bca_bootstrap")


def interval(
    kind: str,
    values: Iterable[float],
    *,
    value_range: Sequence[float] | None = None,
    level: float = 0.95,
    n_resamples: int = N_RESAMPLES,
    seed: int = SEED,
    max_distinct: int = MAX_DISTINCT,
) -> Interval:
    """The interval for the mean of finite ``values``: their summary, then :func:`interval_from_summary`."""
    return interval_from_summary(
        kind,
        ScoreSummary.of(values, max_distinct),
        value_range=value_range,
        level=level,
        n_resamples=n_resamples,
        seed=seed,
    )
