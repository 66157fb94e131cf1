"""``le.evaluate(data=pandas_df, results_table=<path>)``: the full table written as Parquet with
the scores' own types, also under ``metric_prefix`` (the column names the plan gives)."""

from __future__ import annotations

import mlflow
import pandas as pd
import pytest

import mlflow_llm_eval as le


@pytest.mark.parametrize("prefix", ["", "qa_"])
def test_the_written_table_has_the_score_types_under_the_prefix(mlflow_store, tmp_path, prefix):
    data = pd.DataFrame(
        {
            "inputs": ["q1", "q2", "q3"],
            "predictions": ["a b c", None, "d"],
            "targets": ["a b c", "x", "e"],
        }
    )
    tokens, exact = le.get_metric("token_count"), le.get_metric("exact_match")
    path = tmp_path / "scores.parquet"
    with mlflow.start_run() as run:
        le.evaluate(
            data=data,
            targets="targets",
            predictions="predictions",
            extra_metrics=[tokens, exact],
            evaluator_config={"metric_prefix": prefix} if prefix else None,
            results_table=str(path),
        )
    from mlflow_llm_eval.mlflow_adapter.locations import LOCATION_TAG

    assert mlflow.get_run(run.info.run_id).data.tags[LOCATION_TAG] == str(path)
    table = pd.read_parquet(path)
    column = prefix + tokens.score_column  # "token_count", MLflow's name
    assert str(table[column].dtype) == "Int64"  # integer scores, NA where unscored
    assert table[column].isna().tolist() == [False, True, False]
    assert table[prefix + exact.score_column].dtype == float
