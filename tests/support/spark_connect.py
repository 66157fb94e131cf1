"""Run a Spark Connect script in its own process (a Connect session per process) and read the
JSON it prints last; skips without Java or pyspark."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


def run_connect_script(script: str, *args: str, cwd: Path, timeout: float = 600) -> Any:
    """``python -c script *args`` with the checkout importable and workers on this Python;
    the decoded last line of its output (the script's ``print(json.dumps(...))``)."""
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java (java not on PATH)")
    pytest.importorskip("pyspark", reason="the [spark] extra is not installed")
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env={
            **os.environ,
            "PYTHONPATH": path,
            "PYSPARK_PYTHON": os.environ.get("PYSPARK_PYTHON", sys.executable),
        },
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
