"""The per-row results on Spark: written in full to a table or a path; a sample to the run.

The full table (the user's columns, each metric's score / justification / status / reason, and
the batch stats column) goes to ``results_table``: a table name (``saveAsTable``; Delta on
Databricks) or a path (Parquet; ``format="delta"`` for Delta). Its location is the run tag
:data:`LOCATION_TAG`. A sample of ``sample_rows`` rows (default 10,000) is collected to the
driver and logged as ``eval_results_table.json`` through the same helper as the pandas path
(:func:`mlflow_llm_eval.mlflow_adapter.logging.log_scored_frame`), so the MLflow UI shows it.

    >>> is_path("/Volumes/main/eval/scores"), is_path("main.eval.qa_scores")
    (True, False)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from mlflow_llm_eval.core.engine import score_series
from mlflow_llm_eval.core.types import Metric
from mlflow_llm_eval.mlflow_adapter.locations import LOCATION_TAG, is_path  # noqa: F401 - re-exported
from mlflow_llm_eval.spark_adapter.partition import STATS_COLUMN

DEFAULT_SAMPLE_ROWS = 10_000


def write(table: Any, target: str, fmt: str | None = None) -> Any:
    """Write the scored DataFrame to ``target``; return a DataFrame reading it back."""
    spark = table.sparkSession
    writer = table.write.mode("overwrite")
    if is_path(target):
        fmt = fmt or "parquet"
        writer.format(fmt).save(target)
        return spark.read.format(fmt).load(target)
    if fmt:
        writer = writer.format(fmt)
    writer.saveAsTable(target)
    return spark.table(target)


def sample(table: Any, rows: int, metrics: Sequence[Metric] = ()) -> pd.DataFrame:
    """Up to ``rows`` rows on the driver, shaped like the pandas path's table: a metric's
    ``/justification`` column only if one is set, its ``/reason`` only if a row is not ``ok``,
    a counting metric's scores as ints (``int64``, or ints and ``None`` when a row is unscored:
    :func:`~mlflow_llm_eval.core.engine.score_series`, the pandas path's helper)."""
    frame = table.drop(STATS_COLUMN).limit(max(rows, 0)).toPandas()
    for metric in metrics:
        if metric.integer_scores and metric.score_column in frame.columns:
            values = pd.to_numeric(frame[metric.score_column], errors="coerce").astype(float)
            frame[metric.score_column] = score_series(metric, values.tolist(), frame.index)
    keep = []
    for column in frame.columns:
        if column.endswith("/justification") and frame[column].isna().all():
            continue
        if column.endswith("/reason"):
            status = frame[column[: -len("reason")] + "status"]
            if (status == "ok").all():
                continue
        keep.append(column)
    return frame[keep]
