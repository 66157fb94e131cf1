"""Evaluate several models from one config: parallel child runs, comparison, winner, registry."""

from mlflow_llm_eval.runner.multi import evaluate_models
from mlflow_llm_eval.runner.results import ComparisonResult, ModelOutcome, Registration

__all__ = ["ComparisonResult", "ModelOutcome", "Registration", "evaluate_models"]
