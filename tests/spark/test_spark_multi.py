"""The multi-model config on Spark: a Spark table / Parquet path as the dataset, every model
scored through the Spark door, the same aggregates and winner as the pandas runner on the same
rows; config errors name the key before any run or job."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pandas as pd
import pytest
from support.fake_openai import FakeOpenAI

from mlflow_llm_eval.config.loader import ConfigError, load_config
from mlflow_llm_eval.runner import evaluate_models

pytestmark = pytest.mark.usefixtures("mlflow_store")
ROWS = 30
WORDS = ["paris", "four", "blue", "shakespeare", "water", "seven"]


def qa() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": list(range(ROWS)),
            "question": [f"q{i}: name {WORDS[i % 6]}" for i in range(ROWS)],
            "answer": [f"the answer is {WORDS[i % 6]}" for i in range(ROWS)],
        }
    )


def echo(frame: pd.DataFrame) -> list[str]:
    """A model under test, right on every row whose id word is not 'water'."""
    return [
        f"the answer is {q.split()[-1]}" if "water" not in q else "no idea"
        for q in frame["question"]
    ]


def config(tmp_path: Path, dataset: dict, **extra) -> dict:
    predictions = tmp_path / "recorded.jsonl"
    if not predictions.exists():  # another order than the dataset: joined on the key
        rows = qa().sample(frac=1.0, random_state=3)
        predictions.write_text(
            "".join(
                json.dumps({"id": int(i), "predictions": f"answer {w}"}) + "\n"
                for i, w in zip(rows["id"], rows["answer"])
            )
        )
    return {
        "experiment": f"spark-multi-{tmp_path.name}",
        "dataset": {"inputs": "question", "targets": "answer", **dataset},
        "models": [
            {"name": "echo", "python": echo},
            {"name": "recorded", "predictions": str(predictions), "key": "id"},
            {
                "name": "hosted",
                "endpoint": "openai:/small",
                "concurrency": 2,
                "params": {"temperature": 0, "seed": 1},
            },
        ],
        "metrics": ["exact_match", "rougeL", "token_count"],
        "select": {"maximize": "rougeL/v1/mean"},
        "report": {"enabled": False},
        **extra,
    }


@pytest.fixture()
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    from pyspark import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # echo reaches the executors
    with FakeOpenAI(responder=lambda p: f"the answer is {p.split()[-1]}") as fake:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-local-0123456789abcdef")
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        monkeypatch.delenv("OPENAI_API_BASE", raising=False)
        monkeypatch.setenv("MLFLOW_LLM_EVAL_CACHE_DIR", str(tmp_path / "cache"))
        yield fake


def same(spark_metrics: dict, pandas_metrics: dict) -> None:
    assert set(spark_metrics) == set(pandas_metrics)
    for key, expected in pandas_metrics.items():
        if isinstance(expected, float) and math.isnan(expected):
            assert math.isnan(spark_metrics[key]), key
        else:
            assert spark_metrics[key] == pytest.approx(expected, abs=1e-9, rel=0), key


def test_a_config_on_a_spark_table_matches_the_pandas_runner(spark, server, tmp_path) -> None:
    import mlflow

    spark.createDataFrame(qa()).repartition(2).createOrReplaceTempView("qa_eval")
    results = tmp_path / "results"
    on_spark = evaluate_models(
        config(
            tmp_path,
            {"table": "qa_eval"},
            spark={"results": str(results), "answers_dir": str(tmp_path / "answers")},
        )
    )  # engine: auto
    assert server.stats()["requests"] == ROWS
    on_pandas = evaluate_models(config(tmp_path, {}, engine="pandas"), data=qa())
    for name in ("echo", "recorded", "hosted"):
        spark_outcome, pandas_outcome = on_spark.outcome(name), on_pandas.outcome(name)
        assert spark_outcome.ok and pandas_outcome.ok, (
            spark_outcome.failure,
            pandas_outcome.failure,
        )
        same(spark_outcome.metrics, pandas_outcome.metrics)
        assert spark_outcome.table is None  # no per-row table on the driver
        assert spark_outcome.results_location == str(results / name)
        written = pd.read_parquet(results / name)
        assert sorted(written["question"]) == sorted(qa()["question"])
        tags = mlflow.MlflowClient().get_run(spark_outcome.run_id).data.tags
        assert tags["llm_eval.results_table"] == str(results / name)
        assert tags["llm_eval.engine"] == "spark"
    assert 0 < on_spark.outcome("echo").metrics["exact_match/v1/mean"] < 1
    assert on_spark.selection.winner == on_pandas.selection.winner
    assert [w for w in on_spark.table["winner"]] == [w for w in on_pandas.table["winner"]]
    parent = mlflow.MlflowClient().get_run(on_spark.parent_run_id).data
    assert parent.params["dataset_rows"] == str(ROWS) and parent.params["engine"] == "spark"
    assert parent.params["dataset_path"] == "qa_eval"
    assert "Spark" in parent.tags["llm_eval.paired_comparisons"]


def test_a_parquet_path_with_engine_spark_a_logged_model_and_the_registry(
    spark, server, tmp_path
) -> None:
    """A Parquet directory read by Spark, results to a table name, a logged pyfunc model run by
    ``mlflow.pyfunc.spark_udf``, the winner registered from the driver-side aggregates."""
    import mlflow
    from mlflow.pyfunc import PythonModel

    class Exact(PythonModel):
        def predict(self, context, model_input, params=None):
            return [f"the answer is {q.split()[-1]}" for q in model_input["question"]]

    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(
            name="exact",
            python_model=Exact(),
            input_example=pd.DataFrame({"question": ["q: name x"]}),
        )
    path = tmp_path / "qa_parquet"
    spark.createDataFrame(qa()).write.parquet(str(path))  # a directory, as Spark writes
    cfg = config(
        tmp_path,
        {"path": str(path), "format": "parquet", "limit": 12},
        engine="spark",
        spark={"results": "scores_{model}_t"},
        register={"name": f"spark-winner-{tmp_path.name}"},
    )
    cfg["models"] = [cfg["models"][0], {"name": "logged", "uri": info.model_uri}]
    result = evaluate_models(cfg)
    assert [o.failure for o in result.outcomes] == [None, None]
    logged = result.outcome("logged")
    assert logged.metrics["rougeL/v1/count"] == 12 and logged.metrics["exact_match/v1/mean"] == 1
    assert result.outcome("echo").metrics["exact_match/v1/mean"] < 1
    assert spark.table("scores_logged_t").count() == 12  # a table name: saveAsTable
    assert result.winner.name == "logged"
    assert result.registration.version is not None, result.registration
    # the Spark door links the metrics to the LoggedModel and the run's dataset, as mlflow.evaluate
    [given] = [
        d.dataset for d in mlflow.MlflowClient().get_run(logged.run_id).inputs.dataset_inputs
    ]
    linked = [
        m for m in mlflow.get_logged_model(info.model_id).metrics or [] if m.run_id == logged.run_id
    ]
    assert {m.key for m in linked} == set(logged.metrics)
    assert {(m.dataset_name, m.dataset_digest, m.model_id) for m in linked} == {
        (given.name, given.digest, info.model_id)
    }


def test_config_errors_name_the_key_before_any_run_or_job(spark, tmp_path) -> None:
    import mlflow
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    spark.createDataFrame(qa()).createOrReplaceTempView("qa_eval")
    cases = [
        (
            {"dataset": {"table": "qa_eval"}, "engine": "pandas"},
            "dataset.table: this dataset is read by Spark",
        ),
        ({"dataset": {"table": "no_such_table"}}, "dataset.table: Spark cannot read no_such_table"),
        ({"dataset": {"table": "qa_eval", "targets": "nope"}}, "dataset.targets: column 'nope'"),
        (
            {"select": {"maximize": "rougeL/v1/mean", "require_significance": 0.05}},
            "select.require_significance: not available on Spark",
        ),
        ({"human_labels": {"exact_match": "answer"}}, "human_labels: not available on Spark"),
    ]
    for change, message in cases:
        cfg = config(tmp_path, {"table": "qa_eval"})
        cfg.update({k: v for k, v in change.items() if k != "dataset"})
        cfg["dataset"].update(change.get("dataset", {}))
        with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
            evaluate_models(cfg)
    cfg = config(tmp_path, {"table": "qa_eval"})
    cfg["models"][1].pop("key")
    with pytest.raises(ConfigError, match=r"models\[1\]\.predictions: on Spark .* key"):
        evaluate_models(cfg)
    with pytest.raises(ConfigError, match=r"dataset\.table: must be a Spark table name"):
        load_config(config(tmp_path, {"table": "a b; drop"}))

    schema = StructType([StructField("id", LongType()), StructField("question", StringType())])

    def boom(batches):
        raise RuntimeError("a job ran")
        yield  # pragma: no cover

    never = spark.createDataFrame(qa()[["id", "question"]]).mapInPandas(boom, schema)
    with pytest.raises(ConfigError, match=r"dataset\.targets: column 'answer'"):
        evaluate_models(config(tmp_path, {}), data=never)
    experiment = mlflow.get_experiment_by_name(f"spark-multi-{tmp_path.name}")
    assert experiment is None or not mlflow.search_runs([experiment.experiment_id]).shape[0]


def test_auto_engine_without_a_session_and_for_files(tmp_path, monkeypatch) -> None:
    from mlflow_llm_eval.runner import spark as multi

    (tmp_path / "qa.parquet").write_bytes(b"")
    monkeypatch.setattr(multi, "active_session", lambda: None)
    with pytest.raises(ConfigError, match=r"dataset\.table: a Spark dataset needs an active"):
        multi.resolve_engine(load_config(config(tmp_path, {"table": "t"})))
    with pytest.raises(ConfigError, match=r"dataset\.path: a Spark dataset needs"):
        multi.resolve_engine(load_config(config(tmp_path, {"path": "s3://bucket/qa"})))
    assert (
        multi.resolve_engine(
            load_config(config(tmp_path, {"path": "qa.parquet"}), base_dir=tmp_path)
        )
        == "pandas"
    )
    assert (
        multi.resolve_engine(load_config(config(tmp_path, {"table": "t"}, engine="spark")))
        == "spark"
    )
