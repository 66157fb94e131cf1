"""Parity fixtures: one classic ``local[2]`` Spark session for the session (skipped without
Java), the fake OpenAI judge server and its environment for the module, tiny local models."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.fake_openai import FakeOpenAI
from support.tiny_models import tiny_classifier_dir, tiny_encoder_dir  # noqa: F401 - fixtures

REPO = Path(__file__).resolve().parents[2]
#: The judges' key: the driver's environment (judge_env) and the executors' own (as a cluster
#: secret would set it; the driver's key is not shipped to executors by default).
PARITY_KEY = "sk-parity-test"


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java (java not on PATH)")
    pytest.importorskip("pyspark", reason="the [spark] extra is not installed")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if str(REPO) not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([str(REPO), *paths])
    from pyspark import SparkContext

    from mlflow_llm_eval.spark_adapter import local_session

    if SparkContext._active_spark_context is not None:  # getOrCreate would keep its settings
        SparkContext._active_spark_context.stop()
    session = local_session("local[2,2]", **{"spark.executorEnv.OPENAI_API_KEY": PARITY_KEY})
    yield session
    session.stop()


@pytest.fixture(scope="module")
def judge_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeOpenAI]:
    """The fake judge server and the env every door's judge (and executor) reads; restored."""
    root = tmp_path_factory.mktemp("parity")
    with FakeOpenAI() as fake:
        env = {
            "OPENAI_API_KEY": PARITY_KEY,
            "OPENAI_BASE_URL": fake.base_url,
            "MLFLOW_LLM_EVAL_CACHE_DIR": str(root / "cache"),
        }
        saved = {k: os.environ.get(k) for k in [*env, "OPENAI_API_BASE"]}
        os.environ.pop("OPENAI_API_BASE", None)
        os.environ.update(env)
        yield fake
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
