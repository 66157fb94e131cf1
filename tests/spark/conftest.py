"""Spark fixtures: one classic ``local[2,2]`` session (2 cores, a failed task is retried once)
for the whole test session; skipped only when Java is absent. One Python process cannot hold a
classic and a Spark Connect session, so the Connect test runs its own process
(``test_spark_connect.py``). Workers get ``PYSPARK_PYTHON`` = this interpreter and
``PYTHONPATH`` with the worktree, and ``OPENAI_API_KEY`` = :data:`EXECUTOR_KEY` (their own).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MASTER = "local[2,2]"
EXECUTOR_KEY = "sk-executor-env-key-4Fq9Lm2X"

pytestmark = pytest.mark.skipif(
    shutil.which("java") is None, reason="Spark needs Java (java not on PATH)"
)


def _worker_env() -> None:
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if str(REPO) not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([str(REPO), *paths])


def _need_java() -> None:
    if shutil.which("java") is None:
        pytest.skip(
            "Spark needs Java (java not on PATH); setup.sh installs openjdk-17-jre-headless"
        )
    pytest.importorskip("pyspark", reason="the [spark] extra is not installed")


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    _need_java()
    _worker_env()
    from pyspark import SparkContext

    from mlflow_llm_eval.spark_adapter import local_session

    # a context another test folder left running (tests/docs' pages) would be reused by
    # getOrCreate without the settings below: stop it first
    if SparkContext._active_spark_context is not None:
        SparkContext._active_spark_context.stop()
    # the executors' own key (as a cluster secret reference would set it): the driver's keys
    # are not shipped to executors unless asked (ship_credentials=True)
    session = local_session(MASTER, **{"spark.executorEnv.OPENAI_API_KEY": EXECUTOR_KEY})
    yield session
    session.stop()


from support.tiny_models import tiny_classifier_dir  # noqa: E402,F401 - fixture
