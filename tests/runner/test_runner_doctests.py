"""The docstring examples of the config, selection, report and runner modules run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "mlflow_llm_eval.select",
    "mlflow_llm_eval.config.source",
    "mlflow_llm_eval.config.schema",
    "mlflow_llm_eval.config.request_keys",
    "mlflow_llm_eval.config.compare",
    "mlflow_llm_eval.config.loader",
    "mlflow_llm_eval.config.pyref",
    "mlflow_llm_eval.report.html",
    "mlflow_llm_eval.report.plots",
    "mlflow_llm_eval.report.evaluation",
    "mlflow_llm_eval.report.comparison",
    "mlflow_llm_eval.runner.data",
    "mlflow_llm_eval.judge.endpoint_model",
    "mlflow_llm_eval.runner.results",
    "mlflow_llm_eval.runner.tracking",
    "mlflow_llm_eval.runner.comparisons",
    "mlflow_llm_eval.report.agreement",
    "mlflow_llm_eval.agreement",
    "mlflow_llm_eval.core.paired",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_example_models_docstring() -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
    try:
        module = importlib.import_module("models")
        result = doctest.testmod(module)
    finally:
        sys.path.pop(0)
    assert result.attempted > 0 and result.failed == 0
