"""Write a scored frame to an MLflow run: the per-row table and the aggregates.

The table goes through ``mlflow.log_table`` (pyarrow underneath), so cells pyarrow cannot encode
are made safe first, without losing what the user gave: lone surrogates are written as
backslash escapes, dicts/lists/other objects in a mixed column as their JSON text. Credentials
in any text cell (a reason echoing a key, a prediction leaking one) and in the metric metadata
are replaced by ``[REDACTED]`` (:mod:`mlflow_llm_eval.redaction`).
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from mlflow_llm_eval.core.engine import ScoredFrame
from mlflow_llm_eval.core.text import encodable_text as _safe_text
from mlflow_llm_eval.mlflow_adapter.linkage import MetricLink, metric_entities
from mlflow_llm_eval.redaction import redact

TABLE_NAME = "eval_results_table"
TABLE_FILE = f"{TABLE_NAME}.json"
METADATA_FILE = "llm_eval/metrics.json"
SKIPPED_FILE = "llm_eval/skipped_metrics.json"
SKIPPED_TAG = "llm_eval.skipped_metrics"


def _safe_cell(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, str):
        return _safe_text(value)
    try:
        return _safe_text(json.dumps(value, ensure_ascii=False, default=repr))
    except (TypeError, ValueError):
        return _safe_text(repr(value))


def loggable_table(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of the table whose object columns hold only str/None (or one scalar type)."""
    safe = table.copy()
    safe.columns = [str(c) for c in safe.columns]
    for column in safe.columns:
        series = safe[column]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            continue
        values = redact([_safe_cell(v) for v in series.tolist()])  # credentials in any cell
        kinds = {type(v) for v in values if v is not None}
        if kinds and kinds <= {int, float}:  # numbers stay numbers (ints as ints, as MLflow)
            safe[column] = pd.Series(values, index=safe.index, dtype=object).infer_objects()
            continue
        if len(kinds) > 1 or kinds - {str}:
            values = [v if v is None or isinstance(v, str) else _safe_cell(str(v)) for v in values]
        safe[column] = pd.Series(values, index=safe.index, dtype=object)
    return safe


def log_scored_frame(
    run_id: str, scored: ScoredFrame, metadata: list[dict[str, Any]], table_file: str = TABLE_FILE,
    link: MetricLink | None = None,
) -> str:
    """Log aggregates (linked to ``link``'s model and dataset), the table and metric metadata to
    ``run_id``; return the table's URI."""
    from mlflow import MlflowClient

    client = MlflowClient()
    entities = metric_entities(scored.aggregates, run_id, link)
    for start in range(0, len(entities), 1000):
        client.log_batch(run_id, metrics=entities[start : start + 1000])
    client.log_table(run_id, data=loggable_table(scored.table), artifact_file=table_file)
    client.log_dict(run_id, redact({"metrics": metadata, "seconds": scored.seconds}), METADATA_FILE)
    artifact_uri = client.get_run(run_id).info.artifact_uri.rstrip("/")
    return f"{artifact_uri}/{table_file}"


def log_skipped(run_id: str, skipped: list[dict[str, str]]) -> None:
    """Record metrics that were not computed (and why): an artifact and a tag, never silent."""
    from mlflow import MlflowClient

    client = MlflowClient()
    client.log_dict(run_id, redact({"skipped": skipped}), SKIPPED_FILE)
    client.set_tag(run_id, SKIPPED_TAG, ", ".join(s["metric"] for s in skipped)[:5000])
