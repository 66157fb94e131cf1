"""The genai adapter's docstring examples run (as tests/test_metric_catalogue.py does for the core)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ("mlflow_llm_eval.genai_adapter", "mlflow_llm_eval.genai_adapter.batcher",
           "mlflow_llm_eval.genai_adapter.fields", "mlflow_llm_eval.genai_adapter.scorer",
           "mlflow_llm_eval.genai_adapter.registration")


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples(module_name: str) -> None:
    failures, tried = doctest.testmod(importlib.import_module(module_name),
                                      optionflags=doctest.ELLIPSIS)
    assert tried > 0 and failures == 0
