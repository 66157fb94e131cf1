"""The same data through MLflow's default evaluator and through ``llm_eval``: the same table
columns and run metrics for the metrics both compute (what lines runs up in the MLflow UI).

Compared offline: MLflow's ``exact_match``, ``make_metric`` metrics (versioned, versionless,
per-row with justifications, aggregate-only, derived, reading ``metrics``) and ``latency``.
Not comparable here: MLflow's ``token_count`` (tiktoken download), ``toxicity`` and the ROUGE
metrics (HF ``evaluate`` scripts from the Hub) and ``flesch_kincaid``/``ari`` (textstat's nltk
download) fail or are skipped by MLflow offline, so the LLM presets cannot run on the default
evaluator here; their column names are checked against MLflow's own tests in this folder.
"""

from __future__ import annotations

import mlflow
import pandas as pd
import pytest
from mlflow.metrics import MetricValue, make_metric

from compat.conftest import mlflow_columns

DATA = pd.DataFrame(
    {
        "question": ["What is 2+2?", "Capital of France?", "Colour of the sky?"],
        "truth": ["4", "Paris", "blue"],
    }
)
ANSWERS = {"What is 2+2?": "4", "Capital of France?": "Lyon", "Colour of the sky?": "blue"}


def answer(frame: pd.DataFrame) -> list[str]:
    return [ANSWERS[q] for q in frame["question"]]


def length(predictions, targets=None, metrics=None):
    scores = [len(p) for p in predictions]
    return MetricValue(
        scores=scores,
        justifications=[f"{n} chars" for n in scores],
        aggregate_results={"total": float(sum(scores))},
    )


def longer_than_truth(predictions, targets, metrics):
    return MetricValue(scores=[float(len(p) > len(t)) for p, t in zip(predictions, targets)])


def doubled(predictions, length):  # derived: reads the `length` metric
    return MetricValue(scores=[2 * s for s in length.scores])


def rows(predictions, metrics):  # aggregate only, reads earlier results
    return MetricValue(aggregate_results={"rows": float(len(metrics["length"].scores))})


def _metrics(with_targets: bool):
    metrics = [
        make_metric(eval_fn=length, greater_is_better=False, name="length"),
        make_metric(eval_fn=doubled, greater_is_better=False, name="doubled", version="v2"),
        make_metric(eval_fn=rows, greater_is_better=True, name="rows"),
    ]
    if with_targets:
        metrics += [
            mlflow.metrics.exact_match(),
            make_metric(
                eval_fn=longer_than_truth, greater_is_better=False, name="longer", version="v1"
            ),
        ]
    return metrics


CASES = {  # name -> (mlflow.evaluate arguments, our additions to the columns)
    "model, targets": (dict(model=answer, data=DATA, targets="truth"), {"exact_match/v1/score"}),
    "model, no targets": (dict(model=answer, data=DATA[["question"]]), set()),
    "static, targets": (
        dict(data=DATA.assign(pred=answer(DATA)), targets="truth", predictions="pred"),
        {"exact_match/v1/score"},
    ),
    "static, no targets": (dict(data=DATA.assign(pred=answer(DATA)), predictions="pred"), set()),
}


def _run(evaluators, arguments, metrics):
    with mlflow.start_run():
        result = mlflow.evaluate(
            **arguments, model_type=None, evaluators=evaluators, extra_metrics=metrics
        )
    return result, result.tables["eval_results_table"]


@pytest.mark.parametrize("case", list(CASES))
def test_same_columns_and_metrics_as_the_default_evaluator(mlflow_store, case) -> None:
    arguments, ours_only = CASES[case]
    metrics = _metrics("targets" in arguments)
    theirs, their_table = _run("default", arguments, metrics)
    ours, our_table = _run("llm_eval", arguments, metrics)
    assert mlflow_columns(our_table) - ours_only == set(their_table.columns)
    assert list(their_table.columns) == [
        c for c in our_table.columns if c in set(their_table.columns)
    ]  # same order
    for column in their_table.columns:
        assert our_table[column].tolist() == their_table[column].tolist(), column
    assert set(theirs.metrics) <= set(ours.metrics)
    for key, value in theirs.metrics.items():
        assert ours.metrics[key] == pytest.approx(value), key


def test_latency_column_matches(mlflow_store) -> None:
    arguments = dict(model=answer, data=DATA, targets="truth")
    _, their_table = _run("default", arguments, [mlflow.metrics.latency()])
    _, our_table = _run("llm_eval", arguments, [mlflow.metrics.latency()])
    # MLflow's `latency` column is ours too (seconds per row); we add latency/v1/score
    assert mlflow_columns(our_table) - {"latency/v1/score"} == set(their_table.columns)
    assert all(s >= 0 for s in our_table["latency"])
