"""The YAML config says how Spark executors get endpoint keys (issue 17, part 7), as
``le.evaluate(..., credentials=, ship_credentials=)`` does: ``spark.key_provider`` (a
``module:function`` / ``file.py:function`` run on each executor) and ``spark.ship_driver_keys``
(opt-in, warned); by default the executors' own environment. Checked at load (errors name the
key and its line) and on the pickled task plan of a real runner run on local Spark, an endpoint
model under test on the local fake OpenAI server."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd
import pytest
from conftest import EXECUTOR_KEY
from support.fake_openai import FakeOpenAI

import mlflow_llm_eval.spark_adapter.evaluate as spark_evaluate
from mlflow_llm_eval.config.loader import ConfigError, load_config
from mlflow_llm_eval.runner import evaluate_models

DRIVER_KEY = "sk-driver-key-NEVER-SHIP-93hQ"
PROVIDED_KEY = "sk-provided-on-executor-5Wz1"
DATABRICKS_TOKEN = "dapi0123456789abcdef0123456789abcdef"  # the driver's, unused by this run
PROVIDER = f'''
def provide():
    """Run on each executor: the key from a secret store (here, a constant)."""
    from pyspark import TaskContext

    return {{"OPENAI_API_KEY": "{PROVIDED_KEY}" if TaskContext.get() else "sk-on-the-driver-000"}}
'''


def write_config(tmp_path: Path, spark: str = "") -> Path:
    (tmp_path / "keys.py").write_text(PROVIDER)
    path = tmp_path / "eval.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            experiment: keys-{tmp_path.name}
            dataset:
              inputs: question
              targets: answer
            models:
              - name: hosted
                endpoint: openai:/small
                prompt_template: "{{question}}"
            metrics: [exact_match]
            report: {{enabled: false}}
            spark:
              results: {tmp_path / "results"}
            """
        )
        + textwrap.indent(textwrap.dedent(spark), "  ")
    )
    return path


def test_the_keys_are_checked_at_load_naming_the_key_and_line(tmp_path) -> None:
    loaded = load_config(write_config(tmp_path, "key_provider: keys.py:provide\n"))
    provider = loaded.config.spark.key_provider
    assert callable(provider) and provider() == {"OPENAI_API_KEY": "sk-on-the-driver-000"}
    assert load_config(write_config(tmp_path, "")).config.spark.ship_driver_keys is False

    cases = {
        "key_provider: no-colon\n": "must be 'module:function' or 'file.py:function'",
        "key_provider: keys.py:absent\n": "cannot load 'keys.py:absent': AttributeError",
        "key_provider: no_such_module_9x:f\n": "cannot load 'no_such_module_9x:f': "
        "ModuleNotFoundError",
        "ship_driver_keys: sure\n": "valid boolean",
    }
    for text, message in cases.items():
        with pytest.raises(ConfigError) as info:
            load_config(write_config(tmp_path, text))
        (issue,) = info.value.issues
        key = text.split(":")[0]
        assert issue.path == f"spark.{key}" and issue.line == 13, str(info.value)
        assert message in issue.message, str(info.value)

    with pytest.raises(ConfigError) as info:
        load_config(
            write_config(tmp_path, "key_provider: keys.py:provide\nship_driver_keys: true\n")
        )
    (issue,) = info.value.issues
    assert (issue.path, issue.line) == ("spark.ship_driver_keys", 14)
    assert "not both" in issue.message


@pytest.fixture()
def run(spark, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mlflow_store):
    """Run the config on Spark; returns (pickled task plans, keys the server saw)."""
    sent: list[bytes] = []
    real = spark_evaluate.dumps

    def spy(obj, **options):
        sent.append(real(obj, **options))
        return sent[-1]

    monkeypatch.setattr(spark_evaluate, "dumps", spy)
    frame = pd.DataFrame(
        {"question": [f"q{i}" for i in range(6)], "answer": [f"Q{i}" for i in range(6)]}
    )

    def go(spark_keys: str) -> tuple[list[bytes], set[str]]:
        sent.clear()
        with FakeOpenAI(responder=str.upper) as server:
            monkeypatch.setenv("OPENAI_API_KEY", DRIVER_KEY)
            monkeypatch.setenv("DATABRICKS_TOKEN", DATABRICKS_TOKEN)
            monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
            monkeypatch.delenv("OPENAI_API_BASE", raising=False)
            monkeypatch.setenv("MLFLOW_LLM_EVAL_CACHE_DIR", str(tmp_path / "cache"))
            result = evaluate_models(
                write_config(tmp_path, spark_keys), data=spark.createDataFrame(frame)
            )
            outcome = result.outcome("hosted")
            assert outcome.ok, outcome.failure
            assert outcome.metrics["exact_match/v1/mean"] == 1.0
            return list(sent), {r.headers.get("authorization") for r in server.requests}

    return go


def test_by_default_executors_use_their_environment_and_the_plan_has_no_key(run) -> None:
    blobs, keys = run("")
    assert keys == {f"Bearer {EXECUTOR_KEY}"}
    assert blobs and all(DRIVER_KEY.encode() not in b for b in blobs)
    assert all(DATABRICKS_TOKEN.encode() not in b for b in blobs)  # nor set on executors
    assert all(b"OPENAI_BASE_URL" in b for b in blobs)  # the non-secret settings are


def test_a_key_provider_runs_on_the_executors(run) -> None:
    blobs, keys = run("key_provider: keys.py:provide\n")
    assert keys == {f"Bearer {PROVIDED_KEY}"}
    assert blobs and all(DRIVER_KEY.encode() not in b for b in blobs)
    assert all(DATABRICKS_TOKEN.encode() not in b for b in blobs)


def test_shipping_the_driver_keys_is_opt_in_and_warned(run) -> None:
    with pytest.warns(UserWarning, match="ship_credentials=True"):
        blobs, keys = run("ship_driver_keys: true\n")
    assert keys == {f"Bearer {DRIVER_KEY}"}
    assert any(DRIVER_KEY.encode() in b for b in blobs)
    assert any(DATABRICKS_TOKEN.encode() in b for b in blobs)  # set on executors: opt-in
