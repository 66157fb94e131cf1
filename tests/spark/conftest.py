"""Spark fixtures: one classic ``local[2,2]`` session (2 cores, a failed task is retried once)
and one Spark Connect session for the whole test session; skipped only when Java is absent.

The Connect server runs in its own process (``remote("local[2,2]")`` there starts the local
Connect server on a free port) because one Python process cannot hold a classic and a remote
session; the tests reach it with ``sc://localhost:<port>``. Both get ``PYSPARK_PYTHON`` = this
interpreter and ``PYTHONPATH`` with the worktree for their Python workers.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MASTER = "local[2,2]"

pytestmark = pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java (java not on PATH)")


def _worker_env() -> None:
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if str(REPO) not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([str(REPO), *paths])


def _need_java() -> None:
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java (java not on PATH); setup.sh installs openjdk-17-jre-headless")
    pytest.importorskip("pyspark", reason="the [spark] extra is not installed")


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    _need_java()
    _worker_env()
    from mlflow_llm_eval.spark_adapter import local_session

    session = local_session(MASTER)
    yield session
    session.stop()


_SERVER = """
import sys
from pyspark.sql import SparkSession
SparkSession.builder.remote(sys.argv[1]).config("spark.connect.grpc.binding.port", sys.argv[2]) \\
    .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "8").getOrCreate()
print("ready", flush=True)
sys.stdin.read()
"""


@pytest.fixture(scope="session")
def spark_connect() -> Iterator[object]:
    _need_java()
    _worker_env()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-c", _SERVER, MASTER, str(port)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        if "ready" not in line:
            pytest.fail(f"the Spark Connect server did not start: {line!r}")
        from pyspark.sql.connect.session import SparkSession as RemoteSparkSession

        session = RemoteSparkSession.builder.remote(f"sc://localhost:{port}").getOrCreate()
        yield session
        session.stop()
    finally:
        server.stdin.close()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.fixture(params=["classic", "connect"])
def any_spark(request: pytest.FixtureRequest) -> object:
    """Each test using it runs on the classic session and on Spark Connect."""
    return request.getfixturevalue("spark" if request.param == "classic" else "spark_connect")


from support.tiny_models import tiny_classifier_dir  # noqa: E402,F401 - fixture
