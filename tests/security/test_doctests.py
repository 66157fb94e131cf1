"""The docstring examples of the modules this part touches run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["mlflow_llm_eval.redaction", "mlflow_llm_eval.judge.parse", "mlflow_llm_eval.judge.prompt",
           "mlflow_llm_eval.judge.pack", "mlflow_llm_eval.judge.endpoints",
           "support.echo_gateway", "support.injection_corpus",
           "mlflow_llm_eval.mlflow_adapter.logging", "mlflow_llm_eval.mlflow_adapter.predictions",
           "mlflow_llm_eval.judge.endpoint_model", "mlflow_llm_eval.runner.tracking"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
