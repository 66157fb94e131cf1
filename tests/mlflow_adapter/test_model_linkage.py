"""MLflow 3 linkage through a real ``mlflow server``: the metrics of an evaluation of a logged
model reach its LoggedModel with the dataset's name and digest, as MLflow's default evaluator
logs them, so two evaluations on two datasets can be told apart on the model's page."""

from __future__ import annotations

from collections import Counter

import mlflow
import pandas as pd
import pytest

import mlflow_llm_eval as le
from support.mlflow_server import mlflow_server

pytestmark = pytest.mark.skipif(
    not hasattr(mlflow, "get_logged_model"), reason="LoggedModel linkage needs MLflow 3"
)

FIRST = pd.DataFrame({"inputs": ["a", "b"], "targets": ["a", "x"]})  # exact_match mean 0.5
SECOND = pd.DataFrame({"inputs": ["c", "d", "e"], "targets": ["c", "d", "y"]})  # mean 2/3


class Echo(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return [str(text) for text in model_input["inputs"]]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    with mlflow_server(tmp_path_factory.mktemp("linkage-server")) as url:
        yield url


@pytest.fixture(scope="module")
def evaluations(server: str):
    """One logged model evaluated by llm_eval on two datasets, and by MLflow's default
    evaluator on the first (3 evaluations, shared by the tests below)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", server)
        mlflow.set_tracking_uri(server)
        mlflow.set_experiment("linkage")
        with mlflow.start_run():
            info = mlflow.pyfunc.log_model(
                name="model", python_model=Echo(), input_example=pd.DataFrame({"inputs": ["a"]})
            )
        runs = {
            "first": _evaluate(info.model_uri, FIRST, "first", "llm_eval"),
            "second": _evaluate(info.model_uri, SECOND, "second", "llm_eval"),
            "default": _evaluate(info.model_uri, FIRST, "first", "default"),
        }
        yield info.model_id, runs, mlflow.get_logged_model(info.model_id).metrics
    while mlflow.active_run() is not None:
        mlflow.end_run()


def _evaluate(model_uri: str, frame: pd.DataFrame, name: str, evaluator: str) -> tuple[str, object]:
    dataset = mlflow.data.from_pandas(frame, targets="targets", name=name)
    metric = le.exact_match() if evaluator == "llm_eval" else mlflow.metrics.exact_match()
    with mlflow.start_run() as run:
        mlflow.evaluate(
            model=model_uri,
            data=dataset,
            model_type=None,
            evaluators=evaluator,
            extra_metrics=[metric],
        )
    return run.info.run_id, dataset


def _links(metrics: list, run_id: str, key: str) -> Counter:
    return Counter(
        (m.key, m.dataset_name, m.dataset_digest, m.model_id)
        for m in metrics
        if m.run_id == run_id and m.key == key
    )


def test_two_datasets_are_told_apart_on_the_logged_model(evaluations, server: str) -> None:
    model_id, runs, metrics = evaluations
    (first_run, first), (second_run, second) = runs["first"], runs["second"]
    assert first.digest != second.digest
    for run_id, dataset, mean in ((first_run, first, 0.5), (second_run, second, 2 / 3)):
        logged = [m for m in metrics if m.run_id == run_id]
        assert {(m.dataset_name, m.dataset_digest, m.model_id) for m in logged} == {
            (dataset.name, dataset.digest, model_id)
        }, "every metric names its dataset"
        means = [m.value for m in logged if m.key == "exact_match/v1/mean"]
        assert means and means == pytest.approx([mean] * len(means))
        run_metrics = mlflow.MlflowClient(tracking_uri=server).get_run(run_id).data.metrics
        assert {m.key for m in logged} == set(run_metrics), "every run metric reaches the model"


def test_linked_as_the_default_evaluator_links(evaluations) -> None:
    """For the metric key MLflow's default evaluator logs, the same (dataset, model) records."""
    _, runs, metrics = evaluations
    key = "exact_match/v1"
    expected = _links(metrics, runs["default"][0], key)
    assert expected and all(name == "first" for _, name, _, _ in expected)
    assert _links(metrics, runs["first"][0], key) == expected
