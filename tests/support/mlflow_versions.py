"""Skipping a test on an MLflow 3.x that lacks a feature, never silently: the reason names the
feature, the MLflow version that brought it and the installed one (the features and versions are
``mlflow_llm_eval.genai_adapter.compat.SINCE`` and :data:`TEST_ONLY`, both checked against the
installed MLflow by tests/compat/test_mlflow_internals.py).

    >>> needs_mlflow("parse_inputs_to_str").mark.name
    'skipif'
    >>> reason("parse_outputs_to_str").startswith("needs MLflow >= 3.3.0 (parse_outputs_to_str)")
    True
"""

from __future__ import annotations

import mlflow
import pytest

from mlflow_llm_eval.genai_adapter.compat import SINCE, mlflow_at_least

#: MLflow features only the tests use (as references), with the first version holding them.
TEST_ONLY = {"mlflow.genai.scorers.ToolCallCorrectness": "3.9.0"}
FEATURES = {**SINCE, **TEST_ONLY}


def has(feature: str) -> bool:
    """Whether the installed MLflow has ``feature`` (a key of :data:`FEATURES`)."""
    return mlflow_at_least(FEATURES[feature])


def reason(feature: str) -> str:
    """Why a test is skipped here: ``"needs MLflow >= 3.3.0 (...); installed 3.0.0"``."""
    return f"needs MLflow >= {FEATURES[feature]} ({feature}); installed {mlflow.__version__}"


def needs_mlflow(*features: str) -> pytest.MarkDecorator:
    """A ``skipif`` marker: skip unless the installed MLflow has every one of ``features``."""
    lacking = [f for f in features if not has(f)]
    return pytest.mark.skipif(bool(lacking), reason="; ".join(map(reason, lacking)))


def skip_unless_mlflow_has(*features: str) -> None:
    """Inside a test or fixture: ``pytest.skip`` unless the installed MLflow has ``features``."""
    lacking = [f for f in features if not has(f)]
    if lacking:
        pytest.skip("; ".join(map(reason, lacking)))
