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

from typing import Any

import pandas as pd

from mlflow_llm_eval.core.engine import score_series, shown_suffixes
from mlflow_llm_eval.core.plan import SUFFIXES, EvaluationPlan
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


def sample(table: Any, rows: int, plan: EvaluationPlan) -> pd.DataFrame:
    """Up to ``rows`` rows on the driver, shaped like the classic table (the plan's names, the
    columns :func:`~mlflow_llm_eval.core.engine.shown_suffixes` shows), a counting metric's
    scores as ints (:func:`~mlflow_llm_eval.core.engine.score_series`)."""
    frame = table.drop(STATS_COLUMN).limit(max(rows, 0)).toPandas()
    dropped = []
    for metric in plan.metrics:
        statuses = frame[plan.column(metric, "status")].tolist()
        has_justification = frame[plan.column(metric, "justification")].notna().any()
        shown = shown_suffixes(statuses, bool(has_justification))
        dropped += [plan.column(metric, s) for s in SUFFIXES if s not in shown]
        score = plan.column(metric, "score")
        if metric.integer_scores and "score" in shown:
            values = pd.to_numeric(frame[score], errors="coerce").astype(float)
            frame[score] = score_series(metric, values.tolist(), frame.index)
    return frame.drop(columns=dropped)
