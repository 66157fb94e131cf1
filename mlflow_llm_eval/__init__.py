"""mlflow-llm-eval: an MLflow evaluator plugin (``evaluators="llm_eval"``) and LLM metric pack.

    >>> import mlflow_llm_eval as le
    >>> le.evaluate_sample(le.exact_match(), prediction="Paris", target="Paris").value
    1.0
"""

from mlflow_llm_eval.core.registry import available_metrics, get_metric, register_metric
from mlflow_llm_eval.core.types import Metric, MetricResult, RowScore
from mlflow_llm_eval.custom import make_row_metric
from mlflow_llm_eval.function_metrics.exact_match import exact_match
from mlflow_llm_eval.function_metrics.latency import latency
from mlflow_llm_eval.function_metrics.readability import ari_grade_level, flesch_kincaid_grade_level
from mlflow_llm_eval.function_metrics.rouge import rouge1, rouge2, rougeL, rougeLsum
from mlflow_llm_eval.function_metrics.token_count import token_count
from mlflow_llm_eval.sample import evaluate_sample

__version__ = "0.1.0"

__all__ = [
    "Metric",
    "MetricResult",
    "RowScore",
    "ari_grade_level",
    "available_metrics",
    "evaluate_sample",
    "exact_match",
    "flesch_kincaid_grade_level",
    "get_metric",
    "latency",
    "make_row_metric",
    "register_metric",
    "rouge1",
    "rouge2",
    "rougeL",
    "rougeLsum",
    "token_count",
]
