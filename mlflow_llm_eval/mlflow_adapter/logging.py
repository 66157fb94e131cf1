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
import os
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from mlflow_llm_eval.core.engine import ScoredFrame
from mlflow_llm_eval.core.text import encodable_text as _safe_text
from mlflow_llm_eval.mlflow_adapter.linkage import MetricLink, metric_entities
from mlflow_llm_eval.redaction import (
    MIN_SECRET_LENGTH,
    known_values,
    credential_values,
    redact,
    redact_text,
    replace_exact,
)

TABLE_NAME = "eval_results_table"
TABLE_FILE = f"{TABLE_NAME}.json"
METADATA_FILE = "llm_eval/metrics.json"
SKIPPED_FILE = "llm_eval/skipped_metrics.json"
SKIPPED_TAG = "llm_eval.skipped_metrics"
REDACTIONS_FILE = "llm_eval/redactions.json"
REDACTIONS_TAG = "llm_eval.redacted_cells"
#: Column suffixes the package writes (``<metric key>/reason``, ``outputs/status``, ...).
PACKAGE_SUFFIXES = ("status", "reason", "justification")


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
    """A copy of the table whose object columns hold only str/None (or one scalar type); no
    value is redacted here (see :func:`redacted_table`)."""
    return _rebuilt(table, lambda column, values: values)[0]


def _rebuilt(table: pd.DataFrame, change: Any) -> tuple[pd.DataFrame, dict[str, int]]:
    """Safe cells, each text column passed through ``change(column, values) -> values``;
    returns the copy and the number of cells ``change`` altered per column."""
    safe = table.copy()
    safe.columns = [str(c) for c in safe.columns]
    counts: dict[str, int] = {}
    for column in safe.columns:
        series = safe[column]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            continue
        cells = [_safe_cell(v) for v in series.tolist()]
        values = change(column, cells)
        changed = sum(1 for a, b in zip(cells, values) if a is not b and a != b)
        if changed:
            counts[column] = changed
        kinds = {type(v) for v in values if v is not None}
        if kinds and kinds <= {int, float}:  # numbers stay numbers (ints as ints, as MLflow)
            safe[column] = pd.Series(values, index=safe.index, dtype=object).infer_objects()
            continue
        if len(kinds) > 1 or kinds - {str}:
            values = [v if v is None or isinstance(v, str) else _safe_cell(str(v)) for v in values]
        safe[column] = pd.Series(values, index=safe.index, dtype=object)
    return safe, counts


def redacted_table(
    table: pd.DataFrame, user_columns: Iterable[str] | None = None, credentials: Iterable[str] = ()
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The loggable table with credentials replaced (see the module docstring) and the number of
    cells replaced per column. ``user_columns``: the columns the user gave (and the model's
    outputs), where only the exact ``credentials`` are replaced; every other column is the
    package's, redacted by the broad rules. ``None``: every column is the package's."""
    exact = [c for c in set(credentials) if isinstance(c, str) and len(c) >= MIN_SECRET_LENGTH]
    users = set() if user_columns is None else {str(c) for c in user_columns}
    known = sorted(set(known_values()) | set(exact), key=len, reverse=True)

    def change(column: str, values: list[Any]) -> list[Any]:
        if column in users:
            if not exact:
                return values
            return [replace_exact(v, exact) if isinstance(v, str) else v for v in values]
        return [redact_text(v, known) if isinstance(v, str) else v for v in values]

    return _rebuilt(table, change)


def run_credentials(metrics: Iterable[Any], model: Any = None) -> list[str]:
    """The exact credential values a run sends: its judges' and endpoint model's secret request
    headers (``Authorization``, ``api-key``, secret ``extra_headers``) and secret-named
    parameters, and ``DATABRICKS_TOKEN`` when a client talks to a Databricks target (directly, or
    through one of MLflow's own judges).

        >>> run_credentials([]), run_credentials([], model=print)
        ([], [])
    """
    found: set[str] = set()
    users = list(metrics) + _models_in(model)
    for user in users:
        client = getattr(user, "client", None)
        found |= credential_values(getattr(client, "_headers", None))
        found |= credential_values(getattr(user, "parameters", None))
        target = str(getattr(getattr(client, "_client", None), "target_uri", "") or "")
        uris = (
            [target]
            if client is not None and type(client).__name__ == "DeploymentsChatClient"
            else []
        )
        genai = getattr(getattr(user, "mlflow_metric", None), "genai_metric_args", None) or {}
        if genai.get("model"):  # MLflow's own judge: the key MLflow reads for its model URI
            uris.append(str(genai["model"]))
            found |= credential_values(genai.get("parameters"))
            found |= credential_values(genai.get("extra_headers"))
        for uri in uris:
            for name in _ENV_KEYS.get(uri.partition(":")[0], ()):
                found |= credential_values({"api_key": os.environ.get(name)})
            if uri.startswith("databricks") or (uri.startswith("endpoints:") and _databricks()):
                found |= credential_values({"api_key": os.environ.get("DATABRICKS_TOKEN")})
    return sorted(found)


#: The environment keys MLflow's own judges read, by model URI scheme.
_ENV_KEYS = {
    "openai": ("OPENAI_API_KEY",),
    "azure": ("AZURE_OPENAI_API_KEY", "AZURE_API_KEY", "OPENAI_API_KEY"),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "gemini": ("GOOGLE_API_KEY",),
}


def _databricks() -> bool:
    return os.environ.get("MLFLOW_DEPLOYMENTS_TARGET", "").startswith("databricks")


def _models_in(model: Any) -> list[Any]:
    """The objects that may hold an endpoint client: the model, a wrapped function (the
    runner's wrapper, the one MLflow builds around a callable passed to ``mlflow.evaluate``)."""
    if model is None:
        return []
    found = [model, getattr(model, "fn", None)]
    python_model = getattr(model, "python_model", None)
    if python_model is not None:
        found.append(python_model)
        predict = getattr(type(python_model), "predict", None)
        for cell in getattr(predict, "__closure__", None) or ():
            try:
                found.append(cell.cell_contents)
            except ValueError:  # an empty cell
                continue
    return [m for m in found if m is not None and hasattr(m, "client")]


def log_scored_frame(
    run_id: str,
    scored: ScoredFrame,
    metadata: list[dict[str, Any]],
    table_file: str = TABLE_FILE,
    link: MetricLink | None = None,
    *,
    user_columns: Iterable[str] | None = None,
    credentials: Iterable[str] = (),
) -> str:
    """Log aggregates (linked to ``link``'s model and dataset), the table, metric metadata and the redaction counts to ``run_id``; return
    the table's URI. ``user_columns`` / ``credentials``: see :func:`redacted_table` (``None``:
    every column that is not a metric column of ``metadata`` is the user's)."""
    from mlflow import MlflowClient

    client = MlflowClient()
    log_metrics(run_id, scored.aggregates, link)
    if user_columns is None:
        user_columns = user_columns_of(scored.table.columns)
    table, counts = redacted_table(scored.table, user_columns, credentials)
    client.log_table(run_id, data=table, artifact_file=table_file)
    client.log_dict(run_id, redact({"metrics": metadata, "seconds": scored.seconds}), METADATA_FILE)
    log_redactions(run_id, counts, set(map(str, user_columns)))
    artifact_uri = client.get_run(run_id).info.artifact_uri.rstrip("/")
    return f"{artifact_uri}/{table_file}"


def user_columns_of(columns: Iterable[Any]) -> list[str]:
    """The columns of a results table that are not the package's status/reason/justification
    columns (the user's data and the model's outputs; score columns are numbers).

        >>> user_columns_of(["inputs", "outputs", "outputs/status", "m/v1/score", "m/v1/reason"])
        ['inputs', 'outputs', 'm/v1/score']
    """
    return [str(c) for c in columns if not _package_column(str(c))]


def log_metrics(run_id: str, values: Mapping[str, float], link: MetricLink | None = None) -> None:
    """Log run metrics at step 0 (linked to ``link``'s model and dataset), 1000 per request."""
    from mlflow import MlflowClient

    entities = metric_entities(values, run_id, link)
    for start in range(0, len(entities), 1000):
        MlflowClient().log_batch(run_id, metrics=entities[start : start + 1000])


def _package_column(column: str) -> bool:
    """A metric's or the model's status/reason/justification column (written by the package)."""
    return column.rpartition("/")[2] in PACKAGE_SUFFIXES and "/" in column


def log_redactions(run_id: str, counts: dict[str, int], user_columns: set[str]) -> None:
    """``llm_eval/redactions.json`` (cells replaced per column, user's and package's) and the tag
    ``llm_eval.redacted_cells`` (the total): a change to logged data is never silent."""
    from mlflow import MlflowClient

    client = MlflowClient()
    record = {
        "user_columns": {c: n for c, n in counts.items() if c in user_columns},
        "package_columns": {c: n for c, n in counts.items() if c not in user_columns},
        "total": sum(counts.values()),
        "policy": "user columns: only the exact credentials this run uses; package-written "
        "columns (reasons, justifications, statuses): every credential rule",
    }
    client.log_dict(run_id, record, REDACTIONS_FILE)
    client.set_tag(run_id, REDACTIONS_TAG, str(record["total"]))


def log_skipped(run_id: str, skipped: list[dict[str, str]]) -> None:
    """Record metrics that were not computed (and why): an artifact and a tag, never silent."""
    from mlflow import MlflowClient

    client = MlflowClient()
    client.log_dict(run_id, redact({"skipped": skipped}), SKIPPED_FILE)
    client.set_tag(run_id, SKIPPED_TAG, ", ".join(s["metric"] for s in skipped)[:5000])
