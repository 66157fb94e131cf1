"""Ctrl-C during a Spark evaluation (issue 17, part 7): the run ``le.evaluate`` started ends
``KILLED`` (not FINISHED) with the interrupt in its ``llm_eval.failure`` tag, no run is left
active, and the interrupt reaches the caller. The interrupt is raised where the driver waits
on the scoring job (writing the results table), as a notebook's Ctrl-C would arrive."""

from __future__ import annotations

import mlflow
import pandas as pd
import pytest

import mlflow_llm_eval as le
from mlflow_llm_eval.spark_adapter import results as results_io

pytestmark = pytest.mark.usefixtures("mlflow_store")


def test_an_interrupted_run_ends_killed(spark, tmp_path, monkeypatch) -> None:
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(results_io, "write", interrupted)
    frame = pd.DataFrame({"prediction": ["a", "b"], "answer": ["a", "c"]})
    with pytest.raises(KeyboardInterrupt):
        le.evaluate(
            data=spark.createDataFrame(frame),
            targets="answer",
            predictions="prediction",
            extra_metrics=[le.exact_match()],
            results_table=str(tmp_path / "r"),
        )
    run = mlflow.last_active_run()
    assert run.info.status == "KILLED"
    assert run.data.tags["llm_eval.failure"].startswith("KeyboardInterrupt")
    assert mlflow.active_run() is None
