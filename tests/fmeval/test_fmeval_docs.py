"""Docstring examples of the fmeval helper modules (the catalogue test runs the metric ones)."""

from __future__ import annotations

import doctest
import importlib

import pytest

HELPERS = [
    "mlflow_llm_eval.fmeval",
    "mlflow_llm_eval.fmeval._common",
    "mlflow_llm_eval.fmeval.models",
    "mlflow_llm_eval.fmeval.perturbations",
    "mlflow_llm_eval.fmeval.perturbed_runs",
]


@pytest.mark.parametrize("module_name", HELPERS)
def test_docstring_examples_run(module_name):
    module = importlib.import_module(module_name)
    failures, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert tried > 0 and failures == 0


def test_robustness_metadata_names_the_perturbation():
    from mlflow_llm_eval.fmeval import semantic_robustness_wer

    options = semantic_robustness_wer(str.upper, perturbation_type="random_upper_case").metadata()[
        "options"
    ]
    assert options["perturbation"] == "5 x random_upper_case(uppercase_fraction=0.1, seed=5)"
    assert options["prompt_template"] == "$model_input"
