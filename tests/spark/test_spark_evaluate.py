"""le.evaluate on Spark DataFrames (classic and Spark Connect) against the pandas path."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlflow_llm_eval as le
from mlflow_llm_eval.core.aggregate import aggregate
from mlflow_llm_eval.core.engine import MissingColumnError, score_frame

pytestmark = pytest.mark.usefixtures("mlflow_store")


def qa_frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    words = ["the", "cat", "sat", "on", "a", "mat", "dog", "ran", "far", "away", "quickly"]
    answers = [" ".join(rng.choice(words, size=rng.integers(3, 12))) for _ in range(n)]
    preds = [
        a if i % 4 == 0 else " ".join(rng.choice(words, size=rng.integers(2, 12)))
        for i, a in enumerate(answers)
    ]
    if n > 5:
        preds[3], preds[5] = None, ""
    return pd.DataFrame(
        {"question": [f"q{i}?" for i in range(n)], "answer": answers, "prediction": preds}
    )


def metrics():
    return [le.rougeL(), le.exact_match(), le.token_count(), le.flesch_kincaid_grade_level()]


def assert_same_metrics(spark_metrics: dict, pandas_metrics: dict) -> None:
    assert set(spark_metrics) == set(pandas_metrics)
    for key, expected in pandas_metrics.items():
        got = spark_metrics[key]
        if isinstance(expected, float) and math.isnan(expected):
            assert math.isnan(got), key
        else:
            assert got == pytest.approx(expected, abs=1e-9, rel=0), key


def test_spark_scores_every_row_like_the_pandas_path(spark, tmp_path: Path) -> None:
    import mlflow

    frame = qa_frame(240)
    sdf = spark.createDataFrame(frame).repartition(3)  # several partitions and batches
    target = str(tmp_path / "scores")
    with mlflow.start_run() as run:
        result = le.evaluate(
            data=sdf,
            targets="answer",
            predictions="prediction",
            model_type="question-answering",
            extra_metrics=metrics()[:1] + metrics()[2:],
            results_table=target,
            sample_rows=50,
        )
    expected = le.evaluate(
        data=frame,
        targets="answer",
        predictions="prediction",
        model_type="question-answering",
        extra_metrics=metrics()[:1] + metrics()[2:],
    )
    assert_same_metrics(result.metrics, expected.metrics)
    assert result.metrics["rougeL/v1/count"] == 238 and result.metrics["rougeL/v1/unscored"] == 2

    written = pd.read_parquet(target).sort_values("question").reset_index(drop=True)
    reference = expected.tables["eval_results_table"].sort_values("question").reset_index(drop=True)
    assert len(written) == 240
    assert {"question", "answer", "prediction"} <= set(written.columns)
    for column in ("rougeL/v1/score", "exact_match/v1/score"):
        np.testing.assert_allclose(
            written[column].to_numpy(float), reference[column].to_numpy(float), atol=1e-12
        )
    assert list(written["rougeL/v1/status"]) == list(reference["rougeL/v1/status"])

    client = mlflow.MlflowClient()
    run_data = client.get_run(run.info.run_id).data
    assert run_data.tags["llm_eval.results_table"] == target
    assert run_data.metrics["rougeL/v1/mean"] == pytest.approx(expected.metrics["rougeL/v1/mean"])
    logged = result.tables["eval_results_table"]
    assert len(logged) == 50 and "rougeL/v1/score" in logged.columns
    assert "llm_eval/batch_stats" not in logged.columns


def test_toxicity_on_executors_matches_one_machine(
    spark, tmp_path: Path, tiny_classifier_dir: Path
) -> None:
    """The model loads in each Python worker (per-process cache); scores and ratio as on one
    machine, the ratio merged over partitions weighted by their scored rows."""
    pytest.importorskip("torch")
    frame = qa_frame(60)
    first = le.evaluate(
        data=frame,
        predictions="prediction",
        extra_metrics=[le.toxicity(model=str(tiny_classifier_dir))],
    )
    threshold = float(np.nanmedian(first.tables["eval_results_table"]["toxicity/v1/score"]))
    metric = le.toxicity(model=str(tiny_classifier_dir), threshold=threshold)  # ratio ~ 0.5
    sdf = spark.createDataFrame(frame).repartition(3)
    result = le.evaluate(
        data=sdf,
        predictions="prediction",
        extra_metrics=[metric],
        results_table=str(tmp_path / "tox"),
    )
    expected = le.evaluate(data=frame, predictions="prediction", extra_metrics=[metric])
    written = pd.read_parquet(tmp_path / "tox").sort_values("question")
    reference = expected.tables["eval_results_table"].sort_values("question")
    # float32 forward passes over differently composed (padded) batches: equal to ~1e-7
    np.testing.assert_allclose(
        written["toxicity/v1/score"].to_numpy(float),
        reference["toxicity/v1/score"].to_numpy(float),
        atol=1e-6,
    )
    # the aggregates of the rows Spark scored: equal to the core's on those same rows
    scores = written["toxicity/v1/score"].to_numpy(float)
    same_rows = {
        f"toxicity/v1/{k}": v
        for k, v in aggregate(
            scores, metric.aggregations, metric.value_kind, metric.value_range
        ).items()
    }
    valid = scores[~np.isnan(scores)]
    same_rows["toxicity/v1/ratio"] = float(np.mean(valid >= threshold))
    assert_same_metrics({k: result.metrics[k] for k in same_rows}, same_rows)
    assert 0.0 < same_rows["toxicity/v1/ratio"] < 1.0  # a ratio that a wrong merge would change


def test_missing_column_fails_before_any_job(spark) -> None:
    from pyspark.sql.types import StringType, StructField, StructType

    schema = StructType(
        [StructField("answer", StringType()), StructField("prediction", StringType())]
    )

    def boom(batches):
        raise RuntimeError("a job ran")
        yield  # pragma: no cover

    sdf = spark.createDataFrame(qa_frame(8)[["answer", "prediction"]]).mapInPandas(boom, schema)
    with pytest.raises(ValueError, match="predictions='nope'"):
        le.evaluate(data=sdf, targets="answer", predictions="nope", extra_metrics=[le.rougeL()])
    with pytest.raises(MissingColumnError, match="'targets'"):
        le.evaluate(data=sdf, predictions="prediction", extra_metrics=[le.rougeL()])


def test_bad_rows_behave_as_on_one_machine(spark, tmp_path: Path) -> None:
    """Spark columns are typed, so each bad kind is its own column, scored as predictions; the
    statuses per row equal the core's on the same values in pandas. (A lone surrogate cannot
    be put in a Spark string column at all: Spark strings are UTF-8.)"""
    from pyspark.sql import Row

    texts = [None, "", "x " * 500_000, "a fine answer", "NaN"]
    values = {
        "t": texts,
        "number": [float("nan"), 1.0, 2.0, 3.0, 4.0],
        "listed": [["a", "b"]] * 5,
        "mapped": [{"k": "v"}] * 5,
    }
    sdf = spark.createDataFrame(
        [
            Row(
                row=i,
                t=texts[i],
                number=values["number"][i],
                listed=["a", "b"],
                mapped={"k": "v"},
                target="a fine answer",
            )
            for i in range(5)
        ]
    )
    for column, cells in values.items():
        location = tmp_path / column
        result = le.evaluate(
            data=sdf,
            targets="target",
            predictions=column,
            extra_metrics=[le.rougeL(), le.token_count()],
            results_table=str(location),
        )
        assert result.metrics["rougeL/v1/count"] + result.metrics["rougeL/v1/unscored"] == 5
        written = pd.read_parquet(location).sort_values("row").reset_index(drop=True)
        local = score_frame(
            pd.DataFrame({"predictions": cells, "targets": ["a fine answer"] * 5}),
            [le.rougeL(), le.token_count()],
        )
        for key in ("rougeL/v1", "token_count"):
            assert list(written[f"{key}/status"]) == list(local.table[f"{key}/status"]), (
                column,
                key,
            )
        assert written["t"].tolist()[1:] == texts[1:]  # the user's columns come back intact


def test_an_unknown_mapped_column_names_it(spark) -> None:
    sdf = spark.createDataFrame(qa_frame(8))
    with pytest.raises(MissingColumnError, match="mapped to 'nope'"):
        le.evaluate(
            data=sdf,
            predictions="prediction",
            extra_metrics=[le.rougeL()],
            evaluator_config={"col_mapping": {"targets": "nope"}},
        )


def test_spark_percentile_is_numpy_linear(spark) -> None:
    """Spark's exact percentile equals numpy's default (linear) on odd/even counts and ties."""
    from mlflow_llm_eval.spark_adapter.aggregate import summaries

    metric = le.make_row_metric(
        lambda p: 0.0, name="m", aggregations=("mean", "variance", "p90", "median")
    )
    rng = np.random.default_rng(3)
    for n in (1, 2, 7, 10, 101):
        values = np.round(rng.random(n) * 5, 1).tolist()
        sdf = spark.createDataFrame(pd.DataFrame({"m/v1/score": values + [float("nan")]}))
        got = summaries(sdf, [metric])["m/v1"]
        assert got["count"] == n and got["unscored"] == 1
        assert got["quantiles"][0.9] == pytest.approx(np.percentile(values, 90), abs=1e-12)
        assert got["quantiles"][0.5] == pytest.approx(np.median(values), abs=1e-12)
        assert got["m2"] == pytest.approx(np.var(values) * n, abs=1e-9)


def test_quantiles_fall_back_to_spark_when_the_counts_overflow(spark) -> None:
    """Batches whose value counts overflow (here 3 distinct values at most) still give the exact
    p90/median: one Spark job sorts that score column; the moments still come from the batches."""
    import json

    from mlflow_llm_eval.core.plan import build_plan
    from mlflow_llm_eval.core.summary import partial_summary
    from mlflow_llm_eval.spark_adapter.aggregate import run_aggregates
    from mlflow_llm_eval.spark_adapter.partition import STATS_COLUMN

    metric = le.make_row_metric(
        lambda p: 0.0, name="m", aggregations=("mean", "variance", "p90", "median")
    )
    values = np.round(np.random.default_rng(5).random(40) * 9, 2)
    values[7] = np.nan
    rows = []
    for batch in np.split(values, [13, 29]):
        stats = json.dumps(
            {
                "m/v1": {
                    "scored": int(np.sum(~np.isnan(batch))),
                    "extras": {},
                    "summary": partial_summary(batch.tolist(), max_distinct=3),
                    "aggregate_only": False,
                }
            }
        )
        rows += [(float(v), None) for v in batch[:-1]] + [(float(batch[-1]), stats)]
    sdf = spark.createDataFrame(pd.DataFrame(rows, columns=["m/v1/score", STATS_COLUMN]))
    got = run_aggregates(sdf, build_plan([metric], columns=["predictions"]))
    expected = aggregate(values.tolist(), metric.aggregations)
    for name in ("mean", "variance", "p90", "median", "count", "unscored"):
        assert got[f"m/v1/{name}"] == pytest.approx(expected[name], abs=1e-9), name
