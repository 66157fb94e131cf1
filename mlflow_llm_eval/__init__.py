"""mlflow-llm-eval: an MLflow evaluator plugin (``evaluators="llm_eval"``) and LLM metric pack.

>>> import mlflow_llm_eval as le
>>> le.evaluate_sample(le.exact_match(), prediction="Paris", target="Paris").value
1.0
>>> le.evaluate_sample("rougeL", prediction="the cat sat", target="the cat sat down").value
0.8571428571428571
"""

from typing import Any

from mlflow_llm_eval.agreement import judge_agreement
from mlflow_llm_eval.redaction import install_log_redaction

install_log_redaction()  # a filter on the package's own loggers: their records carry no credential

# Each metric package registers its own modules with core.registry when imported (core names
# none of them): imported here, so that any import of the package knows every metric by name.
import mlflow_llm_eval.function_metrics
import mlflow_llm_eval.judge
import mlflow_llm_eval.fmeval  # noqa: F401

from mlflow_llm_eval.config import ConfigError, EvalConfig, load_config
from mlflow_llm_eval.core.registry import available_metrics, get_metric, register_metric
from mlflow_llm_eval.core.types import Metric, MetricResult, RowScore
from mlflow_llm_eval.custom import make_row_metric
from mlflow_llm_eval.fmeval import (
    PerturbedRuns,
    bertscore,
    classification_accuracy,
    factual_knowledge,
    factual_knowledge_quasi_exact,
    meteor,
    prompt_stereotyping,
    qa_bertscore,
    qa_exact_match,
    qa_f1,
    qa_precision_over_words,
    qa_quasi_exact_match,
    qa_recall_over_words,
    semantic_robustness_bertscore_dissimilarity,
    semantic_robustness_delta,
    semantic_robustness_wer,
    summarization_rouge,
)
from mlflow_llm_eval.function_metrics.bleu import bleu
from mlflow_llm_eval.function_metrics.chrf import chrf
from mlflow_llm_eval.function_metrics.exact_match import exact_match
from mlflow_llm_eval.function_metrics.latency import latency
from mlflow_llm_eval.function_metrics.readability import ari_grade_level, flesch_kincaid_grade_level
from mlflow_llm_eval.function_metrics.rouge import rouge1, rouge2, rougeL, rougeLsum
from mlflow_llm_eval.function_metrics.token_count import token_count
from mlflow_llm_eval.function_metrics.retrieval import (
    hit_rate_at_k,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)
from mlflow_llm_eval.function_metrics.tool_calls import (
    tool_call_correctness,
    tool_call_efficiency,
    tool_call_f1,
)
from mlflow_llm_eval.judge import (
    answer_correctness,
    answer_relevance,
    answer_similarity,
    coherence,
    faithfulness,
    fluency,
    groundedness,
    make_genai_metric,
    relevance,
)
from mlflow_llm_eval.chat.options import RequestOptions
from mlflow_llm_eval.judge.pairwise import PairwiseJudge, pairwise_preference
from mlflow_llm_eval.sample import evaluate_sample
from mlflow_llm_eval.function_metrics.toxicity import toxicity

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``evaluate_models``, ``evaluate`` and ``scorers`` import MLflow: loaded on first use, not
    on ``import mlflow_llm_eval``."""
    if name == "scorers":  # MLflow 3 scorers: le.scorers.rougeL(), le.scorers.toxicity(...)
        import mlflow_llm_eval.genai_adapter as scorers

        return scorers
    if name == "evaluate_models":
        from mlflow_llm_eval.runner import evaluate_models

        return evaluate_models
    if name == "evaluate":
        from mlflow_llm_eval.evaluate_entry import evaluate

        return evaluate
    if name == "ComparisonResult":
        from mlflow_llm_eval.runner.results import ComparisonResult

        return ComparisonResult
    raise AttributeError(f"module 'mlflow_llm_eval' has no attribute {name!r}")


__all__ = [
    "ComparisonResult",
    "ConfigError",
    "EvalConfig",
    "load_config",
    "Metric",
    "MetricResult",
    "PairwiseJudge",
    "RequestOptions",
    "PerturbedRuns",
    "RowScore",
    "answer_correctness",
    "answer_relevance",
    "answer_similarity",
    "ari_grade_level",
    "available_metrics",
    "bertscore",
    "bleu",
    "chrf",
    "classification_accuracy",
    "coherence",
    "evaluate",
    "evaluate_models",
    "evaluate_sample",
    "exact_match",
    "factual_knowledge",
    "factual_knowledge_quasi_exact",
    "faithfulness",
    "flesch_kincaid_grade_level",
    "fluency",
    "get_metric",
    "groundedness",
    "judge_agreement",
    "latency",
    "make_genai_metric",
    "make_row_metric",
    "meteor",
    "pairwise_preference",
    "prompt_stereotyping",
    "qa_bertscore",
    "qa_exact_match",
    "qa_f1",
    "qa_precision_over_words",
    "qa_quasi_exact_match",
    "qa_recall_over_words",
    "register_metric",
    "relevance",
    "rouge1",
    "rouge2",
    "rougeL",
    "rougeLsum",
    "semantic_robustness_bertscore_dissimilarity",
    "semantic_robustness_delta",
    "semantic_robustness_wer",
    "scorers",
    "summarization_rouge",
    "token_count",
    "tool_call_correctness",
    "tool_call_efficiency",
    "tool_call_f1",
    "precision_at_k",
    "recall_at_k",
    "ndcg_at_k",
    "mrr_at_k",
    "hit_rate_at_k",
    "toxicity",
]
