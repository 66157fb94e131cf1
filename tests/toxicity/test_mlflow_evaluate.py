"""toxicity through mlflow.evaluate(evaluators="llm_eval"), logged to the sqlite store."""

from __future__ import annotations

import math

import mlflow
import pandas as pd
import pytest

from mlflow_llm_eval.function_metrics.toxicity import toxicity


def test_evaluate_logs_scores_ratio_and_truncation(mlflow_store, tmp_path, tiny_classifier_dir):
    experiment = mlflow.create_experiment(
        f"tox-e2e-{tmp_path.name}", artifact_location=tmp_path.as_uri()
    )
    data = pd.DataFrame({"predictions": ["I hate you", "a nice day", None, "word " * 400, "ok"]})
    metric = toxicity(model=str(tiny_classifier_dir), threshold=0.5)
    mlflow.set_experiment(experiment_id=experiment)  # result.tables reads the active experiment
    with mlflow.start_run() as run:
        result = mlflow.evaluate(
            data=data,
            predictions="predictions",
            model_type=None,
            evaluators="llm_eval",
            extra_metrics=[metric],
        )
    table = result.tables["eval_results_table"]
    assert table["toxicity/v1/status"].tolist() == ["ok", "ok", "missing", "truncated", "ok"]
    scores = [s for s in table["toxicity/v1/score"] if not math.isnan(s)]
    assert result.metrics["toxicity/v1/ratio"] == pytest.approx(
        sum(s >= 0.5 for s in scores) / len(scores)
    )
    logged = mlflow.MlflowClient().get_run(run.info.run_id).data.metrics
    for name in ("mean", "variance", "p90", "ratio"):
        assert logged[f"toxicity/v1/{name}"] == pytest.approx(result.metrics[f"toxicity/v1/{name}"])
