"""The Spark results table and logged sample have the pandas path's column names and dtypes on
the same rows (a counting metric's bare ``token_count`` column of ints, ``outputs`` for a
model's answers, the per-metric status/justification/reason columns)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import mlflow_llm_eval as le

pytestmark = pytest.mark.usefixtures("mlflow_store")


def answer(frame: pd.DataFrame) -> list[str | None]:
    """A model under test: None on some rows (their token_count is unscored)."""
    return [None if int(q.split()[-1]) % 5 == 2 else f"{q} is answered" for q in frame["inputs"]]


def frame(n: int = 20) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "inputs": [f"question {i}" for i in range(n)],
            "answer": [f"question {i} is answered" if i % 3 else "no" for i in range(n)],
        }
    )


def arrow_types(path: Path) -> dict[str, str]:
    """Column -> Arrow type of a Parquet file or directory (large_string read as string)."""
    import pyarrow.parquet as pq

    schema = pq.read_table(path).schema
    return {f.name: str(f.type).replace("large_string", "string") for f in schema}


def dtypes(table: pd.DataFrame) -> dict[str, str]:
    return {c: str(t) for c, t in table.dtypes.items()}


@pytest.mark.parametrize("unscored", [True, False], ids=["some-unscored", "all-scored"])
def test_spark_table_and_sample_match_the_pandas_columns_and_dtypes(
    spark, tmp_path: Path, unscored: bool
) -> None:
    from pyspark import cloudpickle
    import sys

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    model = answer if unscored else (lambda f: [f"{q} is answered" for q in f["inputs"]])
    metrics = lambda: [le.token_count(), le.exact_match(), le.rougeL()]  # noqa: E731
    rows = frame()
    on_pandas = le.evaluate(
        data=rows,
        model=model,
        targets="answer",
        extra_metrics=metrics(),
        results_table=str(tmp_path / "p.parquet"),
    )
    on_spark = le.evaluate(
        data=spark.createDataFrame(rows).repartition(2),
        model=model,
        targets="answer",
        extra_metrics=metrics(),
        results_table=str(tmp_path / "t"),
    )
    expected = on_pandas.tables["eval_results_table"].sort_values("inputs").reset_index(drop=True)
    logged = on_spark.tables["eval_results_table"].sort_values("inputs").reset_index(drop=True)
    assert list(logged.columns) == list(expected.columns)
    assert dtypes(logged) == dtypes(expected)
    pd.testing.assert_series_equal(logged["token_count"], expected["token_count"])
    assert "token_count/score" not in logged.columns

    written = pd.read_parquet(tmp_path / "t").sort_values("inputs").reset_index(drop=True)
    # the full table's schema is fixed per partition: it always has every metric's
    # justification/reason column (nulls when unused) and the batch stats
    extra = {"llm_eval/batch_stats"} | {
        f"{m}/{s}"
        for m in ("token_count", "exact_match/v1", "rougeL/v1")
        for s in ("justification", "reason")
    }
    assert set(expected.columns) <= set(written.columns) <= set(expected.columns) | extra
    spark_types, pandas_types = arrow_types(tmp_path / "t"), arrow_types(tmp_path / "p.parquet")
    assert {c: spark_types[c] for c in pandas_types} == pandas_types
    assert spark_types["token_count"] == "int64"
    local = pd.read_parquet(tmp_path / "p.parquet").sort_values("inputs").reset_index(drop=True)
    for column in ("token_count", "exact_match/v1/score", "rougeL/v1/score"):
        # same Arrow types (above); pandas reads its own file back as Int64 (its metadata)
        pd.testing.assert_series_equal(
            written[column].astype("Float64"), local[column].astype("Float64")
        )
