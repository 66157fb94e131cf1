"""Shared fixtures: a session-wide sqlite MLflow store, no network, helpers importable as `support`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).parent
sys.path.insert(0, str(TESTS_DIR))
#: Scripts run as ``python tests/support/<script>.py`` (imports relative to their folder), not
#: modules: kept out of ``--doctest-modules`` collection.
collect_ignore = ["support/fake_openai_genai.py"]

# No test may reach the internet: make the HF stack and MLflow behave offline.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session", autouse=True)
def _run_in_a_scratch_directory(tmp_path_factory: pytest.TempPathFactory):
    """MLflow's sqlite store puts new experiments' artifacts under ./mlruns: keep them out of the checkout."""
    previous = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("cwd"))
    yield
    os.chdir(previous)


@pytest.fixture(scope="session")
def sqlite_tracking_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One sqlite MLflow store (the package's default kind of store) for the whole session."""
    root = tmp_path_factory.mktemp("mlflow")
    return f"sqlite:///{root / 'mlflow.db'}"


@pytest.fixture()
def mlflow_store(sqlite_tracking_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Point MLflow at the session's sqlite store, in a fresh experiment per test."""
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", sqlite_tracking_uri)
    mlflow.set_tracking_uri(sqlite_tracking_uri)
    name = f"test-{tmp_path.name}"
    if mlflow.get_experiment_by_name(name) is None:  # artifacts under tmp, never in the checkout
        mlflow.create_experiment(name, artifact_location=(tmp_path / "artifacts").as_uri())
    experiment = mlflow.set_experiment(name)
    yield experiment
    while mlflow.active_run() is not None:
        mlflow.end_run()
