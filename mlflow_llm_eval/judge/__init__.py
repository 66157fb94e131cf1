"""LLM-as-judge metrics: the judge pack, ``make_genai_metric`` and the engine underneath.

>>> from mlflow_llm_eval.judge import pack_names
>>> pack_names()[:2]
['answer_correctness', 'answer_relevance']
"""

from mlflow_llm_eval.core.registry import register_metric_modules
from mlflow_llm_eval.judge.builtin import (
    answer_correctness,
    answer_relevance,
    answer_similarity,
    coherence,
    faithfulness,
    fluency,
    groundedness,
    relevance,
)
from mlflow_llm_eval.judge.cache import JudgeCache, default_cache_path
from mlflow_llm_eval.judge.make import from_mlflow_genai_metric, make_genai_metric
from mlflow_llm_eval.judge.metric import GenAIMetric
from mlflow_llm_eval.judge.pack import EvaluationExample, JudgeSpec, load_judge, pack_names

register_metric_modules(
    *(f"{__name__}.{m}" for m in ("builtin", "claim_judges", "conversation"))
)  # by name

__all__ = [
    "EvaluationExample",
    "GenAIMetric",
    "JudgeCache",
    "JudgeSpec",
    "answer_correctness",
    "answer_relevance",
    "answer_similarity",
    "coherence",
    "default_cache_path",
    "faithfulness",
    "fluency",
    "from_mlflow_genai_metric",
    "groundedness",
    "load_judge",
    "make_genai_metric",
    "pack_names",
    "relevance",
]
