"""What the fmeval metrics document about themselves (docstring examples run through
``--doctest-modules``, configured in pyproject.toml)."""

from __future__ import annotations


def test_robustness_metadata_names_the_perturbation():
    from mlflow_llm_eval.fmeval import semantic_robustness_wer

    options = semantic_robustness_wer(str.upper, perturbation_type="random_upper_case").metadata()[
        "options"
    ]
    assert options["perturbation"] == "5 x random_upper_case(uppercase_fraction=0.1, seed=5)"
    assert options["prompt_template"] == "$model_input"
