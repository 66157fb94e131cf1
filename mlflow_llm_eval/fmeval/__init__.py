"""FMEval's evaluation algorithms (SageMaker Clarify, ``aws/fmeval``) as mlflow-llm-eval metrics.

Same definitions as FMEval 1.2.3 (checked against FMEval's own code in the tests), one module
per algorithm, each metric usable by name, in ``extra_metrics`` and in ``evaluate_sample``:

- :mod:`.factual_knowledge`: ``factual_knowledge``, ``factual_knowledge_quasi_exact``;
- :mod:`.qa_accuracy`: ``qa_exact_match``, ``qa_quasi_exact_match``, ``qa_f1``,
  ``qa_precision_over_words``, ``qa_recall_over_words``;
- :mod:`.summarization_accuracy`: ``summarization_rouge``, ``meteor`` / ``meteor_exact_stem``;
- :mod:`.bertscore`: ``bertscore``, ``qa_bertscore``;
- :mod:`.classification_accuracy`: ``classification_accuracy`` (+ balanced accuracy,
  precision, recall as run metrics);
- :mod:`.semantic_robustness`: ``semantic_robustness_wer``, ``semantic_robustness_delta``,
  ``semantic_robustness_bertscore_dissimilarity`` (these need the model; see :mod:`.models`);
- :mod:`.prompt_stereotyping`: ``prompt_stereotyping`` (needs a language model's log-probs;
  see :mod:`.logprobs`).

    >>> from mlflow_llm_eval.fmeval import factual_knowledge
    >>> rows = {"predictions": ["Berlin"], "targets": ["Paris<OR>Berlin"]}
    >>> factual_knowledge().score_batch(rows).scores
    [1.0]
"""

from mlflow_llm_eval.core.registry import register_metric_modules
from mlflow_llm_eval.fmeval.bertscore import bertscore, qa_bertscore
from mlflow_llm_eval.fmeval.classification_accuracy import (
    classification_accuracy,
    convert_model_output_to_label,
)
from mlflow_llm_eval.fmeval.factual_knowledge import (
    factual_knowledge,
    factual_knowledge_quasi_exact,
)
from mlflow_llm_eval.fmeval.prompt_stereotyping import prompt_stereotyping
from mlflow_llm_eval.fmeval.qa_accuracy import (
    qa_exact_match,
    qa_f1,
    qa_precision_over_words,
    qa_quasi_exact_match,
    qa_recall_over_words,
)
from mlflow_llm_eval.fmeval.semantic_robustness import (
    PerturbedRuns,
    semantic_robustness_bertscore_dissimilarity,
    semantic_robustness_delta,
    semantic_robustness_wer,
)
from mlflow_llm_eval.fmeval.summarization_accuracy import (
    meteor,
    meteor_exact_stem,
    summarization_rouge,
)

register_metric_modules(
    *(
        f"{__name__}.{module}"
        for module in (  # by name: get_metric, configs
            "factual_knowledge",
            "qa_accuracy",
            "summarization_accuracy",
            "bertscore",
            "classification_accuracy",
            "semantic_robustness",
            "prompt_stereotyping",
        )
    )
)

__all__ = [
    "PerturbedRuns",
    "bertscore",
    "classification_accuracy",
    "convert_model_output_to_label",
    "factual_knowledge",
    "factual_knowledge_quasi_exact",
    "meteor",
    "meteor_exact_stem",
    "prompt_stereotyping",
    "qa_bertscore",
    "qa_exact_match",
    "qa_f1",
    "qa_precision_over_words",
    "qa_quasi_exact_match",
    "qa_recall_over_words",
    "semantic_robustness_bertscore_dissimilarity",
    "semantic_robustness_delta",
    "semantic_robustness_wer",
    "summarization_rouge",
]
