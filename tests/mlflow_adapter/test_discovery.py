"""The one MLflow calling pattern `llm_eval` relies on (mlflow_adapter/discovery.py), pinned.

MLflow asks each evaluator instance `can_evaluate` twice when it discovers evaluators itself
(`evaluators=None`) and once when the user names one. These tests run real `mlflow.evaluate`
calls with a probe evaluator registered next to ours, so a change in MLflow's pattern fails
here; `.ci/mlflow-matrix` runs them on the oldest and newest MLflow 3.x that install.
"""

from __future__ import annotations

import mlflow
import pandas as pd
import pytest
from mlflow.models.evaluation import EvaluationResult, ModelEvaluator
from mlflow.models.evaluation.evaluator_registry import _model_evaluation_registry

from mlflow_llm_eval.mlflow_adapter.discovery import TESTED_MLFLOW_VERSIONS, QuestionCounter

DATA = pd.DataFrame({"inputs": ["a", "b"], "predictions": ["a", "x"], "targets": ["a", "b"]})


class _Probe(ModelEvaluator):
    """Records how often each instance is asked, and whether it was run."""

    asked: list[int] = []
    ran: list[bool] = []

    def __init__(self) -> None:
        self.questions = 0

    def can_evaluate(self, *, model_type, evaluator_config, **kwargs) -> bool:
        self.questions += 1
        type(self).asked.append(self.questions)
        return model_type is None

    def evaluate(self, **kwargs) -> EvaluationResult:
        type(self).ran.append(True)
        return EvaluationResult(metrics={"probe": 1.0}, artifacts={}, run_id=kwargs["run_id"])


@pytest.fixture()
def probe():
    import mlflow.models.evaluation  # noqa: F401 - registers the evaluators

    _Probe.asked, _Probe.ran = [], []
    _model_evaluation_registry.register("probe_evaluator", _Probe)
    yield _Probe
    _model_evaluation_registry._registry.pop("probe_evaluator", None)


def _evaluate(evaluators):
    with mlflow.start_run():
        return mlflow.evaluate(
            data=DATA,
            predictions="predictions",
            targets="targets",
            model_type=None,
            evaluators=evaluators,
            extra_metrics=[mlflow.metrics.exact_match()],
        )


def test_discovery_asks_each_instance_twice_and_we_decline_the_second(mlflow_store, probe) -> None:
    result = _evaluate(None)
    assert probe.asked == [1, 2]  # resolve_evaluators_and_configs, then _evaluate, same instance
    assert probe.ran == [True]
    assert not any(k.endswith("/count") for k in result.metrics)  # llm_eval did not run


@pytest.mark.parametrize("evaluators", ["probe_evaluator", ["probe_evaluator", "llm_eval"]])
def test_a_named_evaluator_is_asked_once(mlflow_store, probe, evaluators) -> None:
    result = _evaluate(evaluators)
    assert probe.asked == [1]
    if isinstance(evaluators, list):  # named: llm_eval runs
        assert result.metrics["exact_match/v1/count"] == 2


def test_question_counter() -> None:
    counter = QuestionCounter()
    assert counter.named() and not counter.named() and counter.count == 2


def test_installed_mlflow_is_a_tested_version() -> None:
    """Pinned: a new MLflow must be checked against discovery.py, then added to the list."""
    assert mlflow.__version__ in TESTED_MLFLOW_VERSIONS, (
        f"MLflow {mlflow.__version__} is not among the versions whose evaluator discovery was "
        f"checked {TESTED_MLFLOW_VERSIONS}: run tests/mlflow_adapter/test_discovery.py and "
        "tests/compat on it, re-read mlflow/models/evaluation/base.py, then add it to "
        "mlflow_llm_eval/mlflow_adapter/discovery.py::TESTED_MLFLOW_VERSIONS and docs/differences.md"
    )
