"""Judges and endpoint models inside Spark partitions, against the fake OpenAI server on loopback:
the global limit split across tasks, no double payment on a retried task, none on a re-run."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest
from support.fake_openai import FakeOpenAI

import mlflow_llm_eval as le
from mlflow_llm_eval.core.types import Metric, MetricResult, RowScore
from mlflow_llm_eval.spark_adapter.ship import ceiling, split_budget

pytestmark = pytest.mark.usefixtures("mlflow_store")
SECRET = "sk-spark-test-NEVER-LOG-7c1d"
LIMIT = 4


class TaskCrash(BaseException):
    """Escapes the engine's per-row error handling: the whole task fails, as a lost executor."""


class CrashFirstAttempt(Metric):
    """Fails every task's first attempt, after the judge before it has paid for its rows."""

    name, requires = "crash", ("predictions",)

    def score_batch(self, rows):
        from pyspark import TaskContext

        if TaskContext.get().attemptNumber() == 0:
            raise TaskCrash("simulated executor failure")
        return MetricResult.from_rows([RowScore.ok(1.0) for _ in rows["predictions"]])


@pytest.fixture()
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    from pyspark import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # test classes reach executors
    with FakeOpenAI(latency=0.02, max_concurrency=LIMIT) as fake:
        monkeypatch.setenv("OPENAI_API_KEY", SECRET)
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        monkeypatch.delenv("OPENAI_API_BASE", raising=False)
        monkeypatch.setenv("MLFLOW_LLM_EVAL_CACHE_DIR", str(tmp_path / "cache"))
        yield fake


def qa(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "inputs": [f"What does MLflow do? ({i})" for i in range(n)],
            "answer": [f"MLflow manages the ML lifecycle {i}" for i in range(n)],
            "prediction": [f"MLflow answer {i}: it tracks experiments" for i in range(n)],
        }
    )


def judge():
    return le.answer_similarity(model="openai:/gpt-4o-mini", max_workers=LIMIT, progress=False)


def test_budget_split_scales_limits_on_a_copy(server) -> None:
    from mlflow_llm_eval.judge.endpoint_model import EndpointModel

    model = EndpointModel.from_uri("openai:/m", concurrency=6, rpm=600, tpm=90_000)
    metric = le.answer_similarity(
        model="openai:/m", max_workers=64, initial_concurrency=8, rpm=600, progress=False
    )
    shipped, shipped_model = split_budget(metric, 4), split_budget(model, 4)
    assert (shipped.max_concurrency, shipped.initial_concurrency, shipped.rpm, shipped.tpm) == (
        16,
        8,
        150.0,
        None,
    )
    assert (
        shipped_model.concurrency,
        shipped_model.initial_concurrency,
        shipped_model.rpm,
        shipped_model.tpm,
    ) == (1, 1, 150.0, 22_500.0)
    assert (metric.max_concurrency, metric.rpm, model.concurrency, model.tpm) == (
        64,
        600,
        6,
        90_000,
    )
    assert shipped.client is metric.client and ceiling(metric) == 64 and ceiling(print) is None
    assert split_budget(print, 4) is print  # a plain callable model under test: as it is


def test_judges_split_limit_no_double_pay_on_retry_and_none_on_rerun(spark, server, tmp_path):
    import mlflow

    rows = 40
    sdf = spark.createDataFrame(qa(rows)).repartition(3)
    answers = tmp_path / "answers"
    with mlflow.start_run() as run:
        first = le.evaluate(
            data=sdf,
            targets="answer",
            predictions="prediction",
            extra_metrics=[judge(), CrashFirstAttempt()],
            answers_dir=str(answers),
            results_table=str(tmp_path / "r1"),
        )
    stats = server.stats()
    # every task failed once after judging; the retries found the answers: each row paid once
    assert stats["requests"] == rows
    assert 429 not in stats["statuses"]  # 2 tasks x LIMIT/2 never exceed the server's cap
    assert first.metrics["answer_similarity/v1/count"] == rows
    assert first.metrics["crash/v1/count"] == rows

    server.reset()
    again = le.evaluate(
        data=sdf,
        targets="answer",
        predictions="prediction",
        extra_metrics=[judge()],
        answers_dir=str(answers),
        results_table=str(tmp_path / "r2"),
    )
    assert server.stats()["requests"] == 0
    assert again.metrics["answer_similarity/v1/mean"] == first.metrics["answer_similarity/v1/mean"]
    assert again.metrics["answer_similarity/v1/judge_cache_hits"] == rows

    one_machine = le.evaluate(
        data=qa(rows), targets="answer", predictions="prediction", extra_metrics=[judge()]
    )
    assert one_machine.metrics["answer_similarity/v1/mean"] == pytest.approx(
        first.metrics["answer_similarity/v1/mean"], abs=1e-12
    )

    written = pd.read_parquet(tmp_path / "r1")
    assert set(written["answer_similarity/v1/status"]) == {"ok"}
    assert written["answer_similarity/v1/justification"].notna().all()
    for path in [
        *Path(run.info.artifact_uri.removeprefix("file://")).rglob("*"),
        *answers.rglob("*"),
    ]:
        if path.is_file():
            assert SECRET not in path.read_text(errors="ignore"), path
    tags = mlflow.MlflowClient().get_run(run.info.run_id).data.tags
    assert all(SECRET not in v for v in tags.values())


def test_an_endpoint_model_answers_inside_the_partitions(spark, server, tmp_path) -> None:
    rows = 12
    sdf = spark.createDataFrame(qa(rows)[["inputs", "answer"]]).repartition(2)
    from mlflow_llm_eval.judge.endpoint_model import EndpointModel

    # the endpoint's limit, set once: split across the tasks (no task learns it by a 429)
    model = EndpointModel.from_uri("openai:/gpt-4o-mini", max_concurrency=LIMIT)
    result = le.evaluate(
        data=sdf,
        model=model,
        targets="answer",
        extra_metrics=[le.token_count()],
        results_table=str(tmp_path / "m"),
    )
    written = pd.read_parquet(tmp_path / "m")
    assert written["outputs"].notna().all() and len(written) == rows
    assert server.stats()["requests"] == rows
    assert 429 not in server.stats()["statuses"]
    assert result.metrics["token_count/count"] == rows


def test_a_deterministic_endpoint_model_is_answered_once_across_runs(spark, server, tmp_path):
    """temperature 0 + a seed: the model's answers go to the shared answer store, so a re-run
    sends no request; the store is what answers (a fresh one asks again); without a seed every
    run asks again, as on one machine."""
    from mlflow_llm_eval.judge.endpoint_model import EndpointModel

    rows = 16
    sdf = spark.createDataFrame(qa(rows)[["inputs", "answer"]]).repartition(2)

    def run(answers: Path, parameters: dict, name: str) -> dict:
        server.reset()
        model = EndpointModel.from_uri(
            "openai:/gpt-4o-mini", "{inputs}", parameters, max_concurrency=LIMIT
        )
        result = le.evaluate(
            data=sdf,
            model=model,
            targets="answer",
            extra_metrics=[le.token_count(), le.rougeL()],
            answers_dir=str(answers),
            results_table=str(tmp_path / name),
        )
        return {
            "requests": server.stats()["requests"],
            "metrics": result.metrics,
            "outputs": sorted(pd.read_parquet(tmp_path / name)["outputs"]),
        }

    seeded = {"temperature": 0, "seed": 7}
    first = run(tmp_path / "store", seeded, "a")
    again = run(tmp_path / "store", seeded, "b")
    fresh = run(tmp_path / "other", seeded, "c")
    assert (first["requests"], again["requests"], fresh["requests"]) == (rows, 0, rows)
    assert again["outputs"] == first["outputs"] and len(first["outputs"]) == rows
    assert again["metrics"]["rougeL/v1/mean"] == first["metrics"]["rougeL/v1/mean"]
    stored = sum(1 for f in (tmp_path / "store").rglob("*.jsonl") for _ in open(f))
    assert stored == rows  # one line per answer, none written twice

    unseeded = {"temperature": 0}
    assert [run(tmp_path / "u", unseeded, n)["requests"] for n in ("d", "e")] == [rows, rows]
    assert not list((tmp_path / "u").rglob("*.jsonl"))
