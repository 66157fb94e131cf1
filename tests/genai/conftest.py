"""MLflow 3 scorer tests: a sqlite store, the fake OpenAI judge server, tiny local models.

Determinism: ``mlflow.genai.evaluate`` runs with ``MLFLOW_GENAI_EVAL_MAX_WORKERS=2`` (sqlite's
connection pool drops traces with MLflow's default of 10+) and synchronous trace logging
(``MLFLOW_ENABLE_ASYNC_TRACE_LOGGING=false``), so every assessment is in the store when
``evaluate`` returns. Judges run with ``cache=False`` so both paths really send requests.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.fake_openai import FakeOpenAI
from support.mlflow_versions import skip_unless_mlflow_has
from support.tiny_models import tiny_classifier_dir, tiny_encoder_dir  # noqa: F401 - fixtures

GENAI_ENV = {
    "MLFLOW_GENAI_EVAL_MAX_WORKERS": "2",
    "MLFLOW_ENABLE_ASYNC_TRACE_LOGGING": "false",
    "OPENAI_API_KEY": "sk-genai-test-secret",
}


@pytest.fixture(scope="module")
def judge_server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(scope="module")
def genai_env(judge_server: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Env for the module (restored after) and a fresh sqlite store; returns the tracking URI.
    The tests using it run ``mlflow.genai.evaluate`` (or ``register``) on a local store."""
    import mlflow

    skip_unless_mlflow_has("mlflow.genai.evaluate without Databricks")

    root: Path = tmp_path_factory.mktemp("genai")
    env = {
        **GENAI_ENV,
        "OPENAI_BASE_URL": judge_server.base_url,
        "MLFLOW_LLM_EVAL_CACHE_DIR": str(root / "cache"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    mlflow.set_tracking_uri(env["MLFLOW_TRACKING_URI"])
    mlflow.set_experiment(
        experiment_id=mlflow.create_experiment(
            "genai", artifact_location=(root / "artifacts").as_uri()
        )
    )
    yield env["MLFLOW_TRACKING_URI"]
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
