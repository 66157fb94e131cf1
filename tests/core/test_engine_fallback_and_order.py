"""Engine details: extra aggregates survive the row-by-row fallback, dependency order, one
missing-column error, integer score columns, bare keys; and the config's endpoint schemes."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from mlflow_llm_eval.core.engine import MissingColumnError, order_by_dependencies, score_frame
from mlflow_llm_eval.core.types import (
    REQUEST_ACCOUNTING,
    SCORED_MEAN,
    Metric,
    MetricResult,
    RowBatch,
    RowScore,
    Status,
)


class Flaky(Metric):
    """Fails on the whole batch when any row is 'boom'; counts requests and a ratio, like a judge
    (accounting) and toxicity (ratio of scored rows at or above a threshold)."""

    name, requires = "flaky", ("predictions",)
    aggregate_merges = {**REQUEST_ACCOUNTING, "ratio": SCORED_MEAN}  # "spread": not mergeable

    def score_batch(self, rows: RowBatch) -> MetricResult:
        texts = rows["predictions"]
        if len(texts) > 1 and "boom" in texts:
            raise RuntimeError("batch failed")
        if texts == ["boom"]:
            raise RuntimeError("this row")
        scores = [float(len(t)) for t in texts]
        return MetricResult.from_rows(
            [RowScore.ok(s) for s in scores],
            extra_aggregates={
                "ratio": sum(s >= 2 for s in scores) / len(scores),
                "judge_requests": float(len(texts)),
                "spread": max(scores),
            },
        )


def test_extra_aggregates_survive_the_row_by_row_fallback() -> None:
    frame = pd.DataFrame({"predictions": ["a", "bb", "boom", "ccc"]})
    out = score_frame(frame, [Flaky()])
    assert out.table["flaky/v1/status"].tolist() == ["ok", "ok", "error", "ok"]
    assert out.aggregates["flaky/v1/judge_requests"] == 3  # summed over the scored rows' calls
    assert out.aggregates["flaky/v1/ratio"] == pytest.approx(2 / 3)  # mean over scored rows
    assert "flaky/v1/spread" not in out.aggregates  # undeclared: exact in one batch only
    whole = score_frame(frame.drop(index=2), [Flaky()])  # one batch: every extra as computed
    assert whole.aggregates["flaky/v1/spread"] == 3.0


class Needs(Metric):
    def __init__(self, name: str, deps=(), requires=("predictions",)) -> None:
        self.name, self.dependencies, self.requires = name, tuple(deps), tuple(requires)

    def score_batch(self, rows: RowBatch) -> MetricResult:
        return MetricResult.from_rows([RowScore.ok(1.0)] * len(rows["predictions"]))


def test_dependencies_come_first_and_cycles_are_named() -> None:
    a, b, c = Needs("a", ["c"]), Needs("b"), Needs("c", ["b"])
    assert [m.name for m in order_by_dependencies([a, b, c])] == ["b", "c", "a"]
    with pytest.raises(ValueError, match="cycle: a/v1 -> c/v1 -> a/v1"):
        order_by_dependencies([Needs("a", ["c"]), Needs("c", ["a"])])
    with pytest.raises(ValueError, match="'a/v1' reads 'nope'"):
        order_by_dependencies([Needs("a", ["nope"])])


def test_one_error_names_every_missing_column_of_every_metric() -> None:
    frame = pd.DataFrame({"predictions": ["x"]})
    metrics = [
        Needs("a", requires=("predictions", "targets", "context")),
        Needs("b", requires=("inputs",)),
    ]
    with pytest.raises(MissingColumnError) as error:
        score_frame(frame, metrics)
    assert str(error.value).startswith(
        "metric 'a/v1' needs column(s) 'targets', 'context'; metric 'b/v1' needs column(s) 'inputs'"
    )
    assert "Columns present: ['predictions']" in str(error.value)


class Count(Metric):
    name, version, bare_score_column, integer_scores = "count_it", None, True, True

    def score_batch(self, rows: RowBatch) -> MetricResult:
        return MetricResult.from_rows(
            [
                RowScore.ok(len(t)) if t else RowScore.unscored(Status.MISSING, "none")
                for t in rows["predictions"]
            ],
            extra_aggregates={"count_it": 7.0},
        )


def test_versionless_bare_integer_column_and_bare_aggregate_key() -> None:
    out = score_frame(pd.DataFrame({"predictions": ["ab", "abc"]}), [Count()])
    assert out.table["count_it"].tolist() == [2, 3] and out.table["count_it"].dtype == "int64"
    assert out.aggregates["count_it/mean"] == 2.5
    assert out.aggregates["count_it"] == 7.0  # an aggregate named after the metric: bare key
    with_missing = score_frame(pd.DataFrame({"predictions": ["ab", None]}), [Count()])
    assert with_missing.table["count_it"].tolist() == [2, None]
    assert math.isnan(with_missing.results["count_it"].scores[1])


@pytest.mark.parametrize(
    "endpoint", ["azure:/my-deployment", "openai:/gpt-4o-mini", "endpoints:/chat"]
)
def test_config_accepts_every_endpoint_scheme_the_clients_support(endpoint) -> None:
    from mlflow_llm_eval.config.schema import ModelSpec

    assert ModelSpec.model_validate({"name": "m", "endpoint": endpoint}).kind == "endpoint"
    with pytest.raises(ValueError, match="must start with openai:/ or endpoints:/ or azure:/"):
        ModelSpec.model_validate({"name": "m", "endpoint": "bedrock:/claude"})
