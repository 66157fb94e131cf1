"""Coverage of the mean's 95% interval by value kind: the cases and the simulation.

Shared by tests/core/test_intervals.py (few repetitions, a few seconds) and
benchmarks/bench_intervals.py (more repetitions, the table in benchmarks/results/intervals.md).
Binary cases are computed exactly (a sum over the binomial pmf), the others by seeded simulation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mlflow_llm_eval.core import intervals

Sampler = Callable[[np.random.Generator, int], np.ndarray]


@dataclass(frozen=True)
class Case:
    name: str
    kind: str
    n: int
    true_mean: float
    sample: Sampler | None = None  # None: binary, computed exactly from the rate
    value_range: tuple[float, float] | None = None
    rate: float | None = None


def _ordinal(probabilities: list[float]) -> tuple[Sampler, float]:
    p = np.asarray(probabilities)
    levels = np.arange(1, len(p) + 1, dtype=float)
    return (lambda rng, n: rng.choice(levels, size=n, p=p)), float(levels @ p)


def binary(rate: float, n: int) -> Case:
    return Case(f"binary rate {rate}, n={n}", "binary", n, rate, rate=rate)


def ordinal(label: str, probabilities: list[float], n: int) -> Case:
    sampler, mean = _ordinal(probabilities)
    return Case(
        f"ordinal 1-5 {label} {probabilities}, n={n}", "ordinal", n, mean, sampler, (1.0, 5.0)
    )


def beta(a: float, b: float, n: int) -> Case:
    return Case(
        f"bounded Beta({a}, {b}), n={n}",
        "bounded",
        n,
        a / (a + b),
        lambda rng, size: rng.beta(a, b, size),
    )


def zero_inflated(zeros: float, n: int) -> Case:
    """A bounded score that is 0 on a share of rows and Uniform(0, 1) elsewhere (ROUGE on bad answers)."""
    return Case(
        f"bounded {zeros:.0%} zeros else U(0,1), n={n}",
        "bounded",
        n,
        (1 - zeros) / 2,
        lambda rng, size: np.where(rng.random(size) < zeros, 0.0, rng.random(size)),
    )


def lognormal(sigma: float, n: int) -> Case:
    return Case(
        f"unbounded LogNormal(0, {sigma}), n={n}",
        "unbounded",
        n,
        math.exp(sigma**2 / 2),
        lambda rng, size: rng.lognormal(0.0, sigma, size),
    )


def gamma(shape: float, n: int) -> Case:
    return Case(
        f"unbounded Gamma({shape}), n={n}",
        "unbounded",
        n,
        shape,
        lambda rng, size: rng.gamma(shape, 1.0, size),
    )


SKEWED_JUDGE = [0.02, 0.03, 0.05, 0.20, 0.70]
#: The cases the test holds to >= 93% coverage.
TEST_CASES = [
    binary(0.02, 30),
    binary(0.5, 30),
    binary(0.1, 100),
    ordinal("skewed", SKEWED_JUDGE, 30),
    ordinal("spread", [0.1, 0.15, 0.2, 0.3, 0.25], 30),
    beta(0.5, 3.0, 30),
    zero_inflated(0.6, 30),
    gamma(2.0, 30),
    lognormal(0.5, 30),
]
#: Continuous kinds past the summary's distinct-value bound: the t interval on moments.
LARGE_CASES = [
    beta(0.5, 3.0, intervals.MAX_DISTINCT + 5000),
    lognormal(1.0, intervals.MAX_DISTINCT + 5000),
]


def old_t(values: np.ndarray) -> tuple[float, float]:
    """The interval every mean carried before: Student-t, NaN with one row, a point with s = 0."""
    return intervals.t_interval(len(values), float(values.sum()), float((values**2).sum()))


def _covers(bounds: tuple[float, float], mean: float) -> bool:
    low, high = bounds
    return bool(low <= mean <= high)  # NaN bounds never cover


@dataclass(frozen=True)
class Coverage:
    new: float  # coverage of the kind's method
    old: float  # coverage of the old Student-t interval
    method: str  # the method(s) the kind used on these samples
    width_new: float  # mean interval width (a NaN-bounded interval counts as 0)
    width_old: float


def _width(low: float, high: float) -> float:
    return float(high - low) if math.isfinite(low) and math.isfinite(high) else 0.0


def coverage(
    case: Case, reps: int, seed: int = 1, n_resamples: int = intervals.N_RESAMPLES
) -> Coverage:
    """Coverage and mean width of the kind's method and of the old t interval on ``case``."""
    if case.kind == "binary":
        from scipy import stats

        xs = np.arange(case.n + 1)
        weights = stats.binom.pmf(xs, case.n, case.rate)
        samples = [np.array([1.0] * int(x) + [0.0] * int(case.n - x)) for x in xs]
    else:
        rng = np.random.default_rng(seed)
        samples = [case.sample(rng, case.n) for _ in range(reps)]
        weights = np.full(reps, 1.0 / reps)
    new = old = width_new = width_old = 0.0
    methods = set()
    for rep, (values, weight) in enumerate(zip(samples, weights)):
        found = intervals.interval(
            case.kind, values, value_range=case.value_range, n_resamples=n_resamples, seed=rep
        )
        methods.add(found.method)
        t = old_t(values)
        new += weight * _covers((found.low, found.high), case.true_mean)
        old += weight * _covers(t, case.true_mean)
        width_new += weight * _width(found.low, found.high)
        width_old += weight * _width(*t)
    return Coverage(
        float(new), float(old), "+".join(sorted(methods)), float(width_new), float(width_old)
    )
