"""Spark runs (issue 17, part 7): a crashed run ends FAILED with its error; a results table
that is the source is refused before any job; executors resolve endpoint credentials
themselves (their environment, or a ``credentials`` callable run on the executor) and the
driver's key is not in the pickled plan unless ``ship_credentials=True`` (warned)."""

from __future__ import annotations

import sys
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from conftest import EXECUTOR_KEY
from support.fake_openai import FakeOpenAI

import mlflow_llm_eval as le
import mlflow_llm_eval.spark_adapter.evaluate as spark_evaluate
from mlflow_llm_eval.core.types import Metric

pytestmark = pytest.mark.usefixtures("mlflow_store")
DRIVER_KEY = "sk-driver-key-NEVER-SHIP-93hQ"
PROVIDED_KEY = "sk-provided-on-executor-5Wz1"


class TaskCrash(BaseException):
    """Escapes the engine's per-row error handling: the whole task fails."""


class AlwaysCrash(Metric):
    """Fails every task attempt, as a broken executor would: the Spark job fails."""

    name, requires = "crash", ("predictions",)

    def score_batch(self, rows):
        raise TaskCrash("executor lost on purpose")


@pytest.fixture()
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    from pyspark import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # test classes reach executors
    with FakeOpenAI() as fake:
        monkeypatch.setenv("OPENAI_API_KEY", DRIVER_KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        monkeypatch.delenv("OPENAI_API_BASE", raising=False)
        monkeypatch.setenv("MLFLOW_LLM_EVAL_CACHE_DIR", str(tmp_path / "cache"))
        yield fake


@pytest.fixture()
def blobs(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The pickled partition plans, as sent to the executors."""
    sent: list[bytes] = []
    real = spark_evaluate.dumps

    def spy(obj, **options):
        sent.append(real(obj, **options))
        return sent[-1]

    monkeypatch.setattr(spark_evaluate, "dumps", spy)
    return sent


def _frame(spark, rows: int = 6):
    data = pd.DataFrame(
        {
            "inputs": [f"question {i}" for i in range(rows)],
            "prediction": [f"answer {i}" for i in range(rows)],
            "answer": [f"answer {i}" for i in range(rows)],
        }
    )
    return spark.createDataFrame(data).repartition(2)


def _judge():
    return le.answer_similarity(model="openai:/gpt-4o-mini", progress=False, cache=False)


def _keys_sent(server: FakeOpenAI) -> set[str]:
    return {r.headers.get("authorization") for r in server.requests}


def test_by_default_executors_use_their_own_key_and_the_plan_holds_no_driver_key(
    spark, server, blobs, tmp_path
) -> None:
    result = le.evaluate(
        data=_frame(spark),
        targets="answer",
        predictions="prediction",
        extra_metrics=[_judge()],
        results_table=str(tmp_path / "r"),
    )
    assert result.metrics["answer_similarity/v1/count"] == 6
    assert _keys_sent(server) == {f"Bearer {EXECUTOR_KEY}"}
    (blob,) = blobs
    assert DRIVER_KEY.encode() not in blob and b"answer_similarity" in blob


def test_a_credentials_callable_runs_on_the_executor(spark, server, blobs, tmp_path) -> None:
    def provider() -> dict[str, str]:
        from pyspark import TaskContext

        return {"OPENAI_API_KEY": PROVIDED_KEY if TaskContext.get() else "sk-on-the-driver-000"}

    le.evaluate(
        data=_frame(spark),
        targets="answer",
        predictions="prediction",
        extra_metrics=[_judge()],
        results_table=str(tmp_path / "r"),
        credentials=provider,
    )
    assert _keys_sent(server) == {f"Bearer {PROVIDED_KEY}"}
    assert DRIVER_KEY.encode() not in blobs[0]


def test_shipping_the_driver_key_is_opt_in_and_warned(spark, server, blobs, tmp_path) -> None:
    with pytest.warns(UserWarning, match="ship_credentials=True"):
        le.evaluate(
            data=_frame(spark),
            targets="answer",
            predictions="prediction",
            extra_metrics=[_judge()],
            results_table=str(tmp_path / "r"),
            ship_credentials=True,
        )
    assert _keys_sent(server) == {f"Bearer {DRIVER_KEY}"}
    assert DRIVER_KEY.encode() in blobs[0]


def test_an_executor_without_a_key_fails_the_run_naming_what_to_set(
    spark, server, tmp_path
) -> None:
    # a provider that finds nothing, for azure:/ (the executors have no Azure key)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AZURE_OPENAI_API_KEY", DRIVER_KEY)
        patch.setenv("AZURE_OPENAI_ENDPOINT", server.url)
        judge = le.answer_similarity(model="azure:/gpt-4o-mini", progress=False, cache=False)
        with pytest.raises(Exception, match="AZURE_OPENAI_API_KEY") as info:
            le.evaluate(
                data=_frame(spark),
                targets="answer",
                predictions="prediction",
                extra_metrics=[judge],
                results_table=str(tmp_path / "r"),
            )
    assert DRIVER_KEY not in str(info.value)
    run = mlflow.last_active_run()
    assert run.info.status == "FAILED"
    assert "AZURE_OPENAI_API_KEY" in run.data.tags["llm_eval.failure"]
    assert server.stats()["requests"] == 0


def test_a_crashed_run_ends_failed_with_its_error(spark, tmp_path) -> None:
    from pyspark import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    with pytest.raises(Exception, match="executor lost on purpose"):
        le.evaluate(
            data=_frame(spark),
            targets="answer",
            predictions="prediction",
            extra_metrics=[AlwaysCrash()],
            results_table=str(tmp_path / "r"),
        )
    run = mlflow.last_active_run()
    assert run.info.status == "FAILED"
    assert "executor lost on purpose" in run.data.tags["llm_eval.failure"]
    assert mlflow.active_run() is None


def test_the_source_path_as_results_table_is_refused_before_any_job(spark, tmp_path) -> None:
    source = tmp_path / "scores"
    _frame(spark).write.parquet(str(source))
    data = spark.read.parquet(str(source))
    before = sorted(p.name for p in source.iterdir())
    spark.sparkContext.setJobGroup("refusal", "results_table is the source")
    try:
        with pytest.raises(ValueError) as info:
            le.evaluate(
                data=data,
                targets="answer",
                predictions="prediction",
                extra_metrics=[le.exact_match()],
                results_table=f"{source}/",
            )
    finally:
        spark.sparkContext.setLocalProperty("spark.jobGroup.id", None)
    message = str(info.value)
    assert f"results_table='{source}/'" in message and f"read from {source}" in message
    assert spark.sparkContext.statusTracker().getJobIdsForGroup("refusal") == []
    assert sorted(p.name for p in source.iterdir()) == before
    assert mlflow.last_active_run().info.status == "FAILED"


def test_the_source_table_as_results_table_is_refused(spark, tmp_path) -> None:
    name = f"source_{tmp_path.name[-12:].replace('-', '_').lower()}"
    _frame(spark).write.mode("overwrite").saveAsTable(name)
    try:
        with pytest.raises(ValueError, match=f"results_table='{name}' is the data being evaluated"):
            le.evaluate(
                data=spark.table(name),
                targets="answer",
                predictions="prediction",
                extra_metrics=[le.exact_match()],
                results_table=name,
            )
        assert spark.table(name).count() == 6
        # another table is fine
        le.evaluate(
            data=spark.table(name),
            targets="answer",
            predictions="prediction",
            extra_metrics=[le.exact_match()],
            results_table=f"{name}_out",
        )
    finally:
        spark.sql(f"DROP TABLE IF EXISTS {name}")
        spark.sql(f"DROP TABLE IF EXISTS {name}_out")
