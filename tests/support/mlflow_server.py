"""A real ``mlflow server`` for a test: sqlite store, free loopback port, stopped on exit.

with mlflow_server(tmp_path) as url:
    mlflow.set_tracking_uri(url)
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def mlflow_server(
    root: Path, start_timeout: float = 120.0, env: Mapping[str, str] | None = None
) -> Iterator[str]:
    """Start ``mlflow server`` with its store and artifacts under ``root`` (``env``: variables
    added to this process's environment for the server); yield its URL."""
    port = free_port()
    log = open(root / "server.log", "w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            f"sqlite:///{root / 'server.db'}",
            "--artifacts-destination",
            str(root / "artifacts"),
            "--workers",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=log,
        env={**_server_environ(), **(env or {})},
        start_new_session=True,
    )  # a group: see _stop
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError((root / "server.log").read_text()[-3000:])
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"mlflow server did not start in {start_timeout:.0f} s"
                    ) from None
                time.sleep(0.5)
        yield url
    finally:
        _stop(process)
        log.close()


#: The test process's MLflow client state (set by ``mlflow.set_experiment`` and fixtures) that
#: a server must not inherit: MLflow 3.0's server validates a logged model's metrics against
#: the ``MLFLOW_EXPERIMENT_ID`` it finds in its own environment.
CLIENT_VARIABLES = ("MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_RUN_ID")


def _server_environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in CLIENT_VARIABLES}


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM to the server's own process group (the server and its workers); SIGKILL to
    whatever of the group is left after 30 s, or after the server itself has exited."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
