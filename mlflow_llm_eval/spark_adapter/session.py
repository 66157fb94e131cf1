"""Spark session helpers: worker Python/env for local sessions, and how many tasks run at once.

>>> tasks_from_master("local[2]"), tasks_from_master("local"), tasks_from_master("yarn")
(2, 1, None)
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any

#: Environment variables the endpoint clients read on executors (keys, base URLs, Azure).
ENDPOINT_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_API_BASE",
    "OPENAI_BASE_URL",
    "OPENAI_API_VERSION",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_API_KEY",
    "AZURE_API_BASE",
    "AZURE_API_VERSION",
    "MLFLOW_DEPLOYMENTS_TARGET",
    "DATABRICKS_HOST",
    "DATABRICKS_TOKEN",
)


def local_session(master: str = "local[2]", *, connect: bool = False, **conf: str) -> Any:
    """A local SparkSession (``connect=True``: a local Spark Connect server) whose Python
    workers run this interpreter and import this package.

    Sets ``PYSPARK_PYTHON`` to ``sys.executable`` when unset and passes ``PYTHONPATH`` to the
    executors (``spark.executorEnv.PYTHONPATH``), as a source checkout needs.
    """
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.remote(master) if connect else SparkSession.builder.master(master)
    )
    settings = {
        "spark.sql.shuffle.partitions": "8",
        "spark.ui.enabled": "false",
        "spark.sql.session.timeZone": "UTC",
        **conf,
    }
    if os.environ.get("PYTHONPATH"):
        settings.setdefault("spark.executorEnv.PYTHONPATH", os.environ["PYTHONPATH"])
    for key, value in settings.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def tasks_from_master(master: str) -> int | None:
    """Cores of a ``local[N]`` / ``local[*]`` / ``local`` master; None for a cluster manager."""
    if master == "local":
        return 1
    match = re.fullmatch(r"local\[(\d+|\*)(,\d+)?\]", master.strip())
    if match is None:
        return None
    return os.cpu_count() or 1 if match.group(1) == "*" else int(match.group(1))


def concurrent_tasks(spark: Any) -> int | None:
    """How many tasks this session runs at once (None when the configuration does not say)."""

    def conf(key: str) -> str | None:
        try:
            return spark.conf.get(key, None)
        except Exception:  # noqa: BLE001 - Spark Connect may refuse some keys
            return None

    parallelism = conf("spark.default.parallelism")
    if parallelism:
        return int(parallelism)
    local = tasks_from_master(conf("spark.master") or "")
    if local is not None:
        return local
    instances, cores = conf("spark.executor.instances"), conf("spark.executor.cores")
    if instances and cores:
        return int(instances) * int(cores)
    return None


def endpoint_env() -> dict[str, str]:
    """The driver's endpoint variables, set on executors that lack them (never logged)."""
    return {name: os.environ[name] for name in ENDPOINT_ENV if os.environ.get(name)}
