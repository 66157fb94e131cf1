"""The request engine's docstring examples run."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["mlflow_llm_eval.chat", "mlflow_llm_eval.core.repeats", "mlflow_llm_eval.chat.types", "mlflow_llm_eval.chat.loop",
           "mlflow_llm_eval.chat.limits", "mlflow_llm_eval.chat.pacing",
           "mlflow_llm_eval.chat.endpoint", "mlflow_llm_eval.chat.endpoints",
           "mlflow_llm_eval.chat.engine", "mlflow_llm_eval.chat.options", "mlflow_llm_eval.judge.engine",
           "mlflow_llm_eval.judge.endpoints", "mlflow_llm_eval.judge.endpoint_model",
           "mlflow_llm_eval.chat.store", "mlflow_llm_eval.chat.adapt", "mlflow_llm_eval.chat.replies",
           "mlflow_llm_eval.chat.collect", "mlflow_llm_eval.judge.cache"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__doc__, f"{name} has no module docstring"
    failures, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert failures == 0
