"""The evaluation rows and static predictions: read, hashed, checked against the config.

Every problem found here is a :class:`~mlflow_llm_eval.config.ConfigError` naming the config key
and line (e.g. a prompt template field that is not a dataset column), raised before any run.

    >>> import pandas as pd
    >>> template_fields("Answer briefly: {question} ({topic})")
    ['question', 'topic']
    >>> align_predictions(pd.DataFrame({"id": [1, 2]}), pd.DataFrame({"id": [2, 1], "p": ["b", "a"]}),
    ...                   column="p", key="id")
    ['a', 'b']
"""

from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from mlflow_llm_eval.config.loader import LoadedConfig
from mlflow_llm_eval.config.schema import DATA_FORMATS, PREDICTIONS_COLUMN, ModelSpec


@dataclass
class EvalData:
    """The dataset rows to evaluate, and its identity for run params.

    On Spark (``engine="spark"``) ``frame`` is a Spark DataFrame and ``sha256`` hashes the
    source's name, schema and row count (see :mod:`mlflow_llm_eval.runner.spark`).
    """

    frame: Any
    sha256: str
    path: str
    engine: str = "pandas"
    rows: int = -1

    def __post_init__(self) -> None:
        if self.rows < 0:
            self.rows = len(self.frame)


def read_table(path: Path, file_format: str | None = None) -> pd.DataFrame:
    """Read a jsonl, csv or parquet file into a DataFrame (strings stay strings)."""
    kind = file_format or DATA_FORMATS[path.suffix.lower()]
    if kind == "jsonl":
        return pd.read_json(path, lines=True, dtype=False)
    if kind == "csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    return pd.read_parquet(path)


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of the file's bytes (what ``sha256sum`` prints); of a directory (a Parquet
    dataset): of its files' names and bytes, in name order."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode())
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def frame_sha256(frame: pd.DataFrame) -> str:
    """A stable hash of a DataFrame given in Python (no file to hash)."""
    hashed = pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes() + ",".join(map(str, frame.columns)).encode()).hexdigest()


def template_fields(template: str) -> list[str]:
    """The ``{field}`` names a ``str.format`` template uses."""
    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


def load_data(loaded: LoadedConfig, data: Any = None) -> EvalData:
    """Read the dataset (or take ``data``, a pandas or Spark DataFrame), apply ``limit``, check
    every column the config names; on Spark see :mod:`mlflow_llm_eval.runner.spark`."""
    from mlflow_llm_eval.runner.spark import resolve_engine

    if resolve_engine(loaded, data) == "spark":
        return _load_spark_data(loaded, data)
    spec = loaded.config.dataset
    if data is not None:
        frame, sha, path = data.reset_index(drop=True), frame_sha256(data), "<DataFrame>"
    elif spec.path is None:
        raise loaded.error(("dataset",), "required key 'path' is missing (or pass data= in Python)")
    else:
        try:
            frame = read_table(Path(spec.path), spec.format)
        except Exception as exc:  # any reader error is a config problem here
            raise loaded.error(("dataset", "path"), f"cannot read {spec.path}: {exc}") from exc
        sha, path = sha256_of(Path(spec.path)), str(spec.path)
    if spec.limit is not None:
        frame = frame.head(spec.limit)
    if len(frame) == 0:
        raise loaded.error(("dataset",), "the dataset has no rows")
    check_columns(loaded, frame)
    return EvalData(frame.reset_index(drop=True), sha, path)


def _load_spark_data(loaded: LoadedConfig, data: Any) -> EvalData:
    """The dataset as a Spark DataFrame, columns checked before the one count job."""
    from mlflow_llm_eval.runner.spark import frame_identity, read_spark_frame

    frame, source = read_spark_frame(loaded, data)
    check_columns(loaded, frame)
    sha, rows = frame_identity(frame, source, loaded.config.dataset.limit)
    if rows == 0:
        raise loaded.error(("dataset",), "the dataset has no rows")
    return EvalData(frame, sha, source, engine="spark", rows=rows)


def check_columns(loaded: LoadedConfig, frame: Any) -> None:
    """Every column the config names is a column of ``frame`` (pandas or Spark)."""
    spec, columns = loaded.config.dataset, list(frame.columns)
    named: list[tuple[tuple[Any, ...], str]] = [
        (("dataset", "inputs", i), c) for i, c in enumerate(spec.inputs)
    ]
    if spec.targets is not None:
        named.append((("dataset", "targets"), spec.targets))
    named += [(("dataset", "col_mapping", k), v) for k, v in spec.col_mapping.items()]
    named += [(("human_labels", k), v) for k, v in loaded.config.human_labels.items()]
    metric_names = [m.name for m in loaded.metrics.metrics]
    for judge in loaded.config.human_labels:
        if judge not in metric_names:
            raise loaded.error(
                ("human_labels", judge), f"'{judge}' is not one of the metrics {metric_names}"
            )
    for index, model in enumerate(loaded.config.models):
        if model.prompt_template is not None:
            named += [
                (("models", index, "prompt_template"), f)
                for f in template_fields(model.prompt_template)
            ]
        if model.key is not None:
            named.append((("models", index, "key"), model.key))
    for loc, column in named:
        if column not in columns:
            raise loaded.error(loc, f"column '{column}' is not in the dataset; columns: {columns}")
    for index, model in enumerate(loaded.config.models):
        if model.kind == "endpoint" and model.prompt_template is None and len(spec.inputs) != 1:
            raise loaded.error(
                ("models", index),
                "an endpoint model needs a prompt_template when "
                "dataset.inputs names several columns",
            )


def align_predictions(
    data: pd.DataFrame, table: pd.DataFrame, *, column: str, key: str | None
) -> list[Any]:
    """The predictions of ``table[column]`` in ``data``'s row order (by ``key`` or by position)."""
    if column not in table.columns:
        raise ValueError(
            f"the predictions file has no column '{column}'; columns: {list(table.columns)}"
        )
    if key is None:
        if len(table) != len(data):
            raise ValueError(
                f"the predictions file has {len(table)} rows for {len(data)} dataset rows "
                "(give key: <id column> to join on a column)"
            )
        return table[column].tolist()
    if key not in table.columns:
        raise ValueError(f"the predictions file has no key column '{key}'")
    if table[key].duplicated().any():
        raise ValueError(f"key column '{key}' of the predictions file has duplicate values")
    lookup = dict(zip(table[key].astype(str), table[column].tolist()))
    keys = data[key].astype(str).tolist()
    missing = [k for k in keys if k not in lookup]
    if missing:
        raise ValueError(
            f"{len(missing)} dataset row(s) have no prediction (key '{key}': {missing[:5]})"
        )
    return [lookup[k] for k in keys]


def static_predictions(model: ModelSpec, data: pd.DataFrame) -> tuple[list[Any], list[Any] | None]:
    """A predictions file's answers (and latency column, if named) aligned with ``data``."""
    assert model.predictions is not None
    table = read_table(model.predictions)
    column = model.output_column or PREDICTIONS_COLUMN
    values = align_predictions(data, table, column=column, key=model.key)
    seconds = None
    if model.latency_column is not None:
        seconds = align_predictions(data, table, column=model.latency_column, key=model.key)
    return values, seconds
