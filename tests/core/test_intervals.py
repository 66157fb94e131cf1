"""Intervals by value kind: coverage at the nominal 95%, the summary contract, scipy agreement."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from mlflow_llm_eval.core import intervals
from mlflow_llm_eval.core.aggregate import aggregate
from mlflow_llm_eval.core.intervals import ScoreSummary, interval, interval_from_summary
from mlflow_llm_eval.core.registry import get_metric
from support import coverage as cov


@pytest.mark.parametrize("case", cov.TEST_CASES + cov.LARGE_CASES, ids=lambda c: c.name)
def test_coverage_is_at_least_93_percent(case: cov.Case) -> None:
    reps = 200 if case in cov.LARGE_CASES else 800
    found = cov.coverage(case, reps, seed=7)
    new, method = found.new, found.method
    print(f"{case.name}: {method} {new:.3f} (old t {found.old:.3f})")
    assert new >= 0.93, f"{case.name}: {method} covers {new:.3f}"
    expected = {"binary": "clopper_pearson"}.get(
        case.kind, "t_moments" if case in cov.LARGE_CASES else "bca_bootstrap"
    )
    assert expected in method


def test_the_old_t_interval_fails_the_rare_binary_case_the_new_one_passes() -> None:
    found = cov.coverage(cov.binary(0.02, 30), reps=0)
    assert (
        found.old < 0.5 < 0.95 < found.new
    )  # t gives [0, 0] for 0 of 30, which happens 55% of the time


def test_zero_of_thirty_is_clopper_pearson_not_zero_width() -> None:
    found = interval("binary", [0.0] * 30)
    ci = stats.binomtest(0, 30).proportion_ci(0.95, method="exact")
    assert (found.low, found.high, found.method) == (0.0, pytest.approx(ci.high), "clopper_pearson")
    assert found.high == pytest.approx(1 - 0.025 ** (1 / 30))


def test_bca_endpoints_equal_scipy_on_the_same_bootstrap_distribution() -> None:
    x = np.random.default_rng(3).lognormal(size=40)
    summary = ScoreSummary.of(x)
    values = np.array(list(summary.counts))
    counts = np.array(list(summary.counts.values()), float)
    boot = intervals.bootstrap_means(values, counts, 3000, seed=5)
    reference = stats.bootstrap(
        (x,),
        np.mean,
        method="BCa",
        n_resamples=0,
        bootstrap_result=type("Prior", (), {"bootstrap_distribution": boot})(),
    )
    ours = intervals.bca_from_distribution(boot, values, counts)
    assert ours == pytest.approx(
        (reference.confidence_interval.low, reference.confidence_interval.high), rel=1e-12
    )


def test_multinomial_resampling_has_the_row_bootstrap_distribution() -> None:
    values, counts = np.array([1.0, 3.0, 5.0]), np.array([5.0, 10.0, 15.0])
    boot = intervals.bootstrap_means(values, counts, 20000, seed=1)
    rows = np.repeat(values, counts.astype(int))
    assert boot.mean() == pytest.approx(rows.mean(), abs=0.01)
    assert boot.std() == pytest.approx(rows.std() / math.sqrt(len(rows)), rel=0.03)


@pytest.mark.parametrize(
    "kind,values,value_range",
    [
        ("binary", [0, 1, 1, 0, 0, 0, 1], None),
        ("ordinal", [5, 4, 5, 1, 3, 5, 5, 2], (1, 5)),
        ("bounded", [0.1, 0.25, 0.0, 0.9, 0.33, 0.5], None),
        ("unbounded", [12.0, 3.5, 7.25, 100.0, 0.5], None),
    ],
)
def test_raw_values_and_merged_partition_summaries_give_the_same_interval(
    kind, values, value_range
) -> None:
    whole = interval(kind, values, value_range=value_range)
    parts = [ScoreSummary.of(values[:2]), ScoreSummary.of(values[2:5]), ScoreSummary.of(values[5:])]
    merged = parts[0].merge(parts[1]).merge(parts[2])
    assert interval_from_summary(kind, merged, value_range=value_range) == whole
    assert interval(kind, list(reversed(values)), value_range=value_range) == whole  # row order
    assert ScoreSummary.from_counts(merged.counts) == ScoreSummary.of(sorted(values))
    assert whole.low <= np.mean(values) <= whole.high


def test_past_the_distinct_bound_only_moments_remain_and_t_applies() -> None:
    x = np.random.default_rng(0).random(50)
    merged = ScoreSummary.of(x[:30], max_distinct=40).merge(
        ScoreSummary.of(x[30:], max_distinct=40), max_distinct=40
    )
    assert merged.counts is None and merged.n == 50
    found = interval_from_summary("bounded", merged)
    expected = stats.t.interval(0.95, 49, loc=x.mean(), scale=stats.sem(x))
    assert found.method == "t_moments" and (found.low, found.high) == pytest.approx(expected)
    whole = interval("bounded", x, max_distinct=40)  # sums in another order: equal to rounding
    assert (whole.low, whole.high, whole.method) == (
        pytest.approx(found.low, rel=1e-12),
        pytest.approx(found.high, rel=1e-12),
        found.method,
    )


def test_every_row_equal_gives_a_bound_not_a_point_when_the_kind_has_a_range() -> None:
    judge = interval("ordinal", [5] * 30, value_range=(1, 5))
    assert judge.method == "one_value_bound" and judge.high == 5.0
    assert judge.low == pytest.approx(5 - 4 * (1 - 0.025 ** (1 / 30)))
    assert interval("bounded", [0.0] * 30).high == pytest.approx(1 - 0.025 ** (1 / 30))
    assert interval("unbounded", [7.0] * 5) == intervals.Interval(7.0, 7.0, "one_value")
    assert math.isnan(interval("unbounded", [7.0]).low)
    assert math.isnan(interval("ordinal", [], value_range=(1, 5)).low)


def test_the_interval_is_seeded_and_within_the_range() -> None:
    x = [1, 1, 2, 5, 5, 5, 4, 3, 5, 5]
    assert interval("ordinal", x, value_range=(1, 5)) == interval("ordinal", x, value_range=(1, 5))
    found = interval("ordinal", x, value_range=(1, 5))
    assert 1 <= found.low < np.mean(x) < found.high <= 5


@pytest.mark.parametrize(
    "kind,value_range,message",
    [
        ("percent", None, "value_kind must be one of"),
        ("ordinal", None, "needs its scale"),
        ("bounded", (1, 1), "low < high"),
    ],
)
def test_bad_kinds_are_refused(kind, value_range, message) -> None:
    with pytest.raises(ValueError, match=message):
        interval(kind, [1.0, 2.0], value_range=value_range)


def test_non_finite_values_are_refused_by_the_summary_and_skipped_by_aggregate() -> None:
    with pytest.raises(ValueError, match="finite"):
        ScoreSummary.of([1.0, math.nan])
    agg = aggregate([1.0, math.inf, 0.5], ("mean",))
    assert math.isnan(agg["mean_ci_low"]) and agg["count"] == 3


@pytest.mark.parametrize(
    "name,kind,value_range",
    [
        ("exact_match", "binary", None),
        ("qa_exact_match", "binary", None),
        ("rougeL", "bounded", None),
        ("qa_f1", "bounded", None),
        ("latency", "unbounded", None),
        ("token_count", "unbounded", None),
        ("answer_similarity", "ordinal", [1.0, 5.0]),
    ],
)
def test_metrics_declare_their_kind_in_metadata(name, kind, value_range, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-interval-test-not-real")
    options = {"model": "openai:/m"} if kind == "ordinal" else {}
    meta = get_metric(name, **options).metadata()
    assert (meta["value_kind"], meta["value_range"]) == (kind, value_range)
    assert meta["ci_method"] == ("clopper_pearson" if kind == "binary" else "bca_bootstrap")


def test_a_custom_row_metric_takes_a_value_kind() -> None:
    from mlflow_llm_eval.core.engine import score_frame
    from mlflow_llm_eval.custom import make_row_metric

    metric = make_row_metric(lambda p: float(p == "yes"), name="said_yes", value_kind="binary")
    import pandas as pd

    agg = score_frame(pd.DataFrame({"predictions": ["no"] * 30}), [metric]).aggregates
    assert agg["said_yes/v1/mean_ci_high"] == pytest.approx(1 - 0.025 ** (1 / 30))
    with pytest.raises(ValueError, match="value_kind"):
        make_row_metric(lambda p: 1.0, name="x", value_kind="percent")


def test_many_rows_of_a_continuous_kind_use_t_and_of_an_ordinal_kind_the_bootstrap() -> None:
    rng = np.random.default_rng(5)
    few_values = rng.integers(0, 10, intervals.MAX_DISTINCT + 1).astype(float)
    assert interval("unbounded", few_values).method == "t_moments"
    assert interval("unbounded", few_values[:-1]).method == "bca_bootstrap"
    judge = rng.integers(1, 6, 100_000).astype(float)
    found = interval("ordinal", judge, value_range=(1, 5))
    assert found.method == "bca_bootstrap" and found.low < judge.mean() < found.high
