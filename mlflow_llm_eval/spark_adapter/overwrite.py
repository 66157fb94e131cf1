"""Refuse a results table that is the data being evaluated (issue 17, part 7): the results
are written with mode ``overwrite``, so re-scoring a results table in place would replace the
rows being read. Checked on the driver before any job, by the files each side reads.

    >>> _normalized("file:///tmp/a%20b/"), _normalized("s3://bucket/x/")
    ('/tmp/a b', 's3://bucket/x')
"""

from __future__ import annotations

import os
from typing import Any

from mlflow_llm_eval.mlflow_adapter.locations import is_path


def _normalized(location: str) -> str:
    """A path or URI compared by its text: ``file:`` URIs and local paths as absolute paths."""
    from urllib.parse import unquote, urlsplit

    if location.startswith("file:"):
        location = unquote(urlsplit(location).path)
    elif "://" not in location and not location.startswith(("dbfs:", "s3:", "abfss:", "gs:")):
        location = os.path.abspath(os.path.expanduser(location))
    return location.rstrip("/")


def _files(frame: Any) -> list[str]:
    try:
        return [_normalized(f) for f in frame.inputFiles()]
    except Exception:  # noqa: BLE001 - a source without files (in memory, a JDBC read)
        return []


def refuse_overwriting_the_source(data: Any, results_table: str) -> None:
    """ValueError before any job if ``results_table`` (a path or a table name) is where
    ``data`` is read from: the results are written with mode ``overwrite``, which would replace
    the rows being scored (re-scoring a results table in place)."""
    sources = _files(data)
    if not sources:
        return
    if is_path(results_table):
        target = _normalized(results_table)
        clash = [f for f in sources if f == target or f.startswith(target + "/")]
    else:
        spark = data.sparkSession
        try:
            exists = spark.catalog.tableExists(results_table)
        except Exception:  # noqa: BLE001 - a name the catalog cannot parse: saveAsTable says so
            exists = False
        target = results_table
        clash = sorted(set(sources) & set(_files(spark.table(results_table)))) if exists else []
    if clash:
        where = os.path.commonpath(clash) if len(clash) > 1 else os.path.dirname(clash[0])
        raise ValueError(
            f"results_table={results_table!r} is the data being evaluated (read from {where}): "
            "the results are written there with mode 'overwrite', which would replace the rows "
            "being scored. Write the results elsewhere (another table name or path); to "
            "re-score a results table, give a new results_table"
        )
