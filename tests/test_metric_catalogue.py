"""One parameterised test over every registered metric: declared metadata (docstring examples run
through ``--doctest-modules``)."""

from __future__ import annotations

import inspect
import math

import pytest

from mlflow_llm_eval.core.registry import PRESETS, available_metrics, get_metric
from mlflow_llm_eval.core.intervals import check_kind
from mlflow_llm_eval.core.types import Metric


def _build(name: str) -> Metric:
    """Build with defaults; metrics that need a judge or the model under test get one."""
    try:
        return get_metric(name)
    except (TypeError, ValueError) as first_error:
        for options in ({"model": "openai:/catalogue-test"}, {"model": lambda texts: list(texts)}):
            try:
                return get_metric(name, **options)
            except (TypeError, ValueError):
                continue
        raise first_error


@pytest.fixture(autouse=True)
def _dummy_judge_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Judges check for a key at construction; no request is sent by these tests."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-catalogue-test-not-a-real-key")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")


@pytest.mark.parametrize("name", available_metrics())
def test_declared_metadata(name: str) -> None:
    metric = _build(name)
    assert isinstance(metric, Metric)
    assert metric.name and "/" not in metric.name
    # None only where MLflow keys the metric without a version (token_count, precision_at_3, ...)
    unversioned = ("token_count", "precision_at_k", "recall_at_k", "ndcg_at_k")
    assert metric.version.startswith("v") if metric.version is not None else name in unversioned
    assert isinstance(metric.greater_is_better, bool)
    assert metric.requires and all(isinstance(c, str) for c in metric.requires)
    assert metric.description, f"{name} has no one-line description"
    meta = metric.metadata()
    assert meta["name"] == metric.name and meta["version"] == metric.version
    check_kind(meta["value_kind"], meta["value_range"])  # every metric declares a valid value kind


@pytest.mark.parametrize("name", available_metrics())
def test_scores_a_missing_row_as_nan_with_status(name: str) -> None:
    metric = _build(name)
    rows = {column: [None] for column in metric.requires}
    result = metric.score_batch(rows)
    assert len(result) == 1
    assert math.isnan(result.scores[0])
    assert result.statuses[0] != "ok" and result.reasons[0]


@pytest.mark.parametrize("model_type", sorted(PRESETS))
def test_presets_resolve(model_type: str) -> None:
    for name in PRESETS[model_type]:
        # a parameterised name is resolved with its default: precision_at_k -> precision_at_3
        assert get_metric(name).name == name.replace("_at_k", "_at_3")


def test_every_public_factory_has_a_docstring() -> None:
    import mlflow_llm_eval as le

    for name in le.__all__:
        obj = getattr(le, name)
        if inspect.isfunction(obj):
            assert obj.__doc__, name
