"""Importing and using the package changes nothing process-wide (issue 17, part 8): log records
are redacted by a filter on the package's own loggers, not by replacing the record factory."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

from mlflow_llm_eval.redaction import MARKER, RedactingFilter

REPO = Path(__file__).resolve().parents[2]
KEY = "sk-proj-abcdefghijklmnopqrstuvwxyz0123"

CHECK = """
import logging
factory, root_filters = logging.getLogRecordFactory(), list(logging.getLogger().filters)
import mlflow_llm_eval
import mlflow_llm_eval.mlflow_adapter.evaluator, mlflow_llm_eval.runner.multi
import mlflow_llm_eval.spark_adapter.evaluate
assert logging.getLogRecordFactory() is factory, logging.getLogRecordFactory()
assert logging.getLogRecordFactory() is logging.LogRecord
assert logging.getLogger().filters == root_filters
ours = [n for n, l in logging.root.manager.loggerDict.items()
        if n.startswith("mlflow_llm_eval") and isinstance(l, logging.Logger)]
bare = [n for n in ours if not any(type(f).__name__ == "RedactingFilter"
                                   for f in logging.getLogger(n).filters)]
assert len(ours) > 20 and not bare, bare
print("unchanged", len(ours))
"""


def test_import_leaves_the_record_factory_and_root_logger_alone() -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", CHECK],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("unchanged")


def test_records_of_a_lazily_imported_module_are_redacted(caplog) -> None:
    from mlflow_llm_eval.runner import multi

    caplog.set_level(logging.DEBUG)
    multi._logger.warning("model failed: Authorization: Bearer %s", KEY)
    logging.getLogger("somebody.else").warning("theirs %s", KEY)
    (mine,) = [r for r in caplog.records if r.name == "mlflow_llm_eval.runner.multi"]
    (theirs,) = [r for r in caplog.records if r.name == "somebody.else"]
    assert (
        mine.getMessage().startswith("model failed: Authorization: ")
        and KEY not in mine.getMessage()
    )
    assert MARKER in mine.getMessage()
    assert theirs.getMessage() == f"theirs {KEY}"
    assert logging.getLogRecordFactory() is logging.LogRecord
    assert any(isinstance(f, RedactingFilter) for f in multi._logger.filters)
    assert not any(isinstance(f, RedactingFilter) for f in logging.getLogger().filters)
