"""Tell a named ``evaluators="llm_eval"`` from MLflow's auto-discovery, without stack inspection.

The one fact about MLflow's internals the plugin relies on, kept here with the versions it was
checked against (``tests/mlflow_adapter/test_discovery.py`` pins it; ``.ci/mlflow-matrix`` runs
that test on the oldest and newest MLflow 3.x that install here).

What MLflow does (``mlflow/models/evaluation/base.py``, the same in 3.0.0 and 3.17.2):

- ``evaluators=None``: ``resolve_evaluators_and_configs`` builds one instance of *every*
  registered evaluator and asks it ``can_evaluate``; then ``_evaluate`` asks the *same
  instance* again just before calling ``evaluate``.
- ``evaluators="llm_eval"`` or a list naming it: the instance is built and asked once, in
  ``_evaluate``.

``can_evaluate`` receives only ``model_type`` and ``evaluator_config`` in both paths, so the
number of questions one instance receives is what differs: the second question to the same
instance means "found by discovery, not named", and we decline it, so a plain
``mlflow.evaluate(...)`` never runs ``llm_eval``. No private name and no stack depth is read.
If MLflow ever asked a named evaluator twice, ``llm_eval`` would decline and MLflow would raise
"could not be evaluated by any of the registered evaluators" (loud, never silent); if it asked
a discovered one only once, the pinned test fails.
"""

from __future__ import annotations

import threading

#: MLflow versions whose calling pattern was read and tested (docs/differences.md, "Tested MLflow versions").
TESTED_MLFLOW_VERSIONS = ("3.0.0", "3.17.2")


class QuestionCounter:
    """Counts ``can_evaluate`` questions to one evaluator instance (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def ask(self) -> int:
        """Record a question; return how many this instance has had, this one included."""
        with self._lock:
            self.count += 1
            return self.count

    def named(self) -> bool:
        """Record a question and say whether the user named us (the first question)."""
        return self.ask() == 1
