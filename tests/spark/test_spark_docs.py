"""The Spark adapter's docstring examples run (they need pyspark, not a session)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["mlflow_llm_eval.spark_adapter.ship", "mlflow_llm_eval.spark_adapter.answers",
           "mlflow_llm_eval.spark_adapter.session", "mlflow_llm_eval.spark_adapter.results",
           "mlflow_llm_eval.evaluate_entry", "mlflow_llm_eval.core.aggregate",
           "mlflow_llm_eval.runner.spark"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    pytest.importorskip("pyspark", reason="the [spark] extra is not installed")
    module = importlib.import_module(name)
    failures, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert failures == 0 and tried > 0
