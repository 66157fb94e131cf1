"""The engine: column resolution, per-row isolation, aggregates with intervals."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mlflow_llm_eval.core.intervals import interval
from mlflow_llm_eval.core.aggregate import aggregate
from mlflow_llm_eval.core.engine import MissingColumnError, score_frame
from mlflow_llm_eval.core.types import Metric, MetricResult, RowScore
from mlflow_llm_eval.custom import make_row_metric
from mlflow_llm_eval.function_metrics.exact_match import exact_match


class BatchFailsOnBadRow(Metric):
    """Raises for the whole batch when any row is 'boom': the engine must isolate that row."""

    name, requires = "fragile", ("predictions",)

    def __init__(self) -> None:
        self.calls = 0

    def score_batch(self, rows):
        self.calls += 1
        if any(p == "boom" for p in rows["predictions"]):
            raise RuntimeError("cannot score boom")
        return MetricResult.from_rows([RowScore.ok(len(p)) for p in rows["predictions"]])


def test_one_bad_row_stays_one_nan() -> None:
    frame = pd.DataFrame({"predictions": ["ab", "boom", "abcd"]})
    scored = score_frame(frame, [BatchFailsOnBadRow()])
    assert scored.table["fragile/v1/score"].tolist()[0::2] == [2.0, 4.0]
    assert math.isnan(scored.table["fragile/v1/score"][1])
    assert scored.table["fragile/v1/status"].tolist() == ["ok", "error", "ok"]
    assert "cannot score boom" in scored.table["fragile/v1/reason"][1]
    assert scored.aggregates["fragile/v1/count"] == 2
    assert scored.aggregates["fragile/v1/unscored"] == 1
    assert scored.aggregates["fragile/v1/mean"] == 3.0


def test_same_error_everywhere_is_not_retried_forever() -> None:
    metric = BatchFailsOnBadRow()
    scored = score_frame(pd.DataFrame({"predictions": ["boom"] * 50}), [metric])
    assert set(scored.table["fragile/v1/status"]) == {"error"}
    assert metric.calls <= 1 + 3  # the batch, then three single rows with the same error


def test_missing_column_names_it_and_lists_present() -> None:
    frame = pd.DataFrame({"predictions": ["a"], "answer": ["a"]})
    with pytest.raises(MissingColumnError) as info:
        score_frame(frame, [exact_match()])
    message = str(info.value)
    assert "'targets'" in message and "['predictions', 'answer']" in message
    assert "col_mapping" in message


def test_col_mapping_maps_logical_columns() -> None:
    frame = pd.DataFrame({"out": ["a", "b"], "answer": ["a", "a"]})
    scored = score_frame(
        frame, [exact_match()], col_mapping={"predictions": "out", "targets": "answer"}
    )
    assert scored.table["exact_match/v1/score"].tolist() == [1.0, 0.0]
    assert scored.aggregates["exact_match/v1"] == 0.5


def test_empty_frame_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="empty"):
        score_frame(pd.DataFrame({"predictions": []}), [exact_match()])


def test_duplicate_metric_keys_rejected() -> None:
    with pytest.raises(ValueError, match="exact_match/v1"):
        score_frame(
            pd.DataFrame({"predictions": ["a"], "targets": ["a"]}), [exact_match(), exact_match()]
        )


def test_aggregates_match_numpy_and_the_kinds_interval() -> None:
    rng = np.random.default_rng(7)
    values = rng.normal(size=40)
    with_nan = list(values) + [math.nan, math.nan]
    agg = aggregate(with_nan, ("mean", "variance", "p90"))
    assert agg["mean"] == pytest.approx(np.mean(values))
    assert agg["variance"] == pytest.approx(np.var(values))
    assert agg["p90"] == pytest.approx(np.percentile(values, 90))
    found = interval("unbounded", values)  # the default kind: the bootstrap, which on normal
    assert (agg["mean_ci_low"], agg["mean_ci_high"]) == (found.low, found.high)  # data is ~t
    low, high = stats.t.interval(
        0.95, len(values) - 1, loc=np.mean(values), scale=stats.sem(values)
    )
    assert (found.low, found.high) == pytest.approx((low, high), abs=0.04)
    assert (agg["count"], agg["unscored"]) == (40, 2)


def test_all_unscored_gives_nan_aggregates_and_zero_count() -> None:
    agg = aggregate([math.nan, math.nan], ("mean",))
    assert math.isnan(agg["mean"]) and agg["count"] == 0 and agg["unscored"] == 2


def test_row_metric_isolates_exceptions_and_bad_returns() -> None:
    def ratio(prediction, target):
        return len(prediction) / len(target)

    metric = make_row_metric(ratio, name="ratio", requires=("predictions", "targets"))
    frame = pd.DataFrame({"predictions": ["aa", "a", "a"], "targets": ["a", "", None]})
    table = score_frame(frame, [metric]).table
    assert table["ratio/v1/score"][0] == 2.0
    assert table["ratio/v1/status"].tolist() == ["ok", "error", "error"]
    assert "ZeroDivisionError" in table["ratio/v1/reason"][1]
    assert "TypeError" in table["ratio/v1/reason"][2]


def test_row_metric_justification_and_none() -> None:
    metric = make_row_metric(
        lambda p: (1.0, "fine") if p == "x" else None, name="j", requires=("predictions",)
    )
    table = score_frame(pd.DataFrame({"predictions": ["x", "y"]}), [metric]).table
    assert table["j/v1/justification"].tolist() == ["fine", None]
    assert table["j/v1/status"].tolist() == ["ok", "unscored"]


def test_metric_result_rejects_ragged_columns() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        MetricResult(scores=[1.0], statuses=["ok", "ok"], reasons=[None])
