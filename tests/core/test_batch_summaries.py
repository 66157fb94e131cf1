"""Partial summaries merged over any split of the rows equal the one-pass summary."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlflow_llm_eval.core.aggregate import aggregate, aggregate_from_summary, summarize
from mlflow_llm_eval.core.summary import SummaryMerger, partial_summary, quantile_from_counts

AGGS = ("mean", "variance", "p90", "median", "min", "max", "sum")


def merged(values: np.ndarray, cuts: list[int], max_distinct: int = 20_000) -> SummaryMerger:
    merger = SummaryMerger(max_distinct)
    for part in np.split(values, cuts):
        merger.add(partial_summary(part.tolist(), max_distinct))
    return merger


def same(a: float, b: float, tol: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, abs=tol, rel=0)


@pytest.mark.parametrize("seed", range(40))
def test_any_split_gives_the_one_pass_summary(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 80))
    values = np.round(rng.normal(3, 2, size=n), int(rng.integers(0, 3)))
    values[rng.random(n) < 0.15] = np.nan
    cuts = sorted(rng.integers(0, n + 1, size=int(rng.integers(0, 5))).tolist())
    got = merged(values, cuts).summary(AGGS)
    expected = summarize(values.tolist(), AGGS)
    for key in ("count", "unscored", "sum", "m2", "min", "max"):
        assert same(got[key], expected[key], 1e-9), key
    for q, value in expected["quantiles"].items():
        assert same(got["quantiles"][q], value, 1e-12), q
    assert (got["interval"] is None) == (expected["interval"] is None)
    if expected["interval"] is not None:
        assert got["interval"].counts == expected["interval"].counts
    a = aggregate_from_summary(got, AGGS, "unbounded")  # the interval too (bootstrap on counts)
    b = aggregate(values.tolist(), AGGS, "unbounded")
    assert all(same(a[k], b[k], 1e-9) for k in b)


def test_an_infinite_score_drops_the_interval_and_keeps_the_count() -> None:
    values = np.array([1.0, np.inf, 2.0, np.nan])
    got = merged(values, [1, 3]).summary(("mean",))
    assert got["interval"] is None and got["count"] == 3 and got["unscored"] == 1
    assert got["max"] == math.inf and summarize(values.tolist(), ("mean",))["interval"] is None


def test_overflowing_counts_ask_for_the_engine_quantiles() -> None:
    values = np.arange(10, dtype=float)
    few = merged(values, [5], max_distinct=20)
    assert not few.needs_quantiles and few.summary(("p90",))["quantiles"][0.9] == pytest.approx(8.1)
    many = merged(values, [5], max_distinct=6)  # each half fits, the union does not
    assert many.needs_quantiles and math.isnan(many.summary(("p90",))["quantiles"][0.9])
    assert many.summary(("p90",))["m2"] == pytest.approx(np.var(values) * 10)


@pytest.mark.parametrize("q", [0.0, 0.1, 0.5, 0.9, 0.99, 1.0])
def test_quantile_from_counts_is_numpy_linear(q: float) -> None:
    rng = np.random.default_rng(1)
    for n in (1, 2, 3, 10, 101):
        values = rng.integers(0, 5, size=n).astype(float)
        distinct, counts = np.unique(values, return_counts=True)
        got = quantile_from_counts(dict(zip(distinct.tolist(), counts.tolist())), q)
        assert got == pytest.approx(float(np.quantile(values, q)), abs=1e-12)
    assert math.isnan(quantile_from_counts({}, q))
