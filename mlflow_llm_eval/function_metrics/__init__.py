"""Offline function metrics: one small module per metric family, each a pure batch function.

Each module exports ``METRICS`` (name -> factory); this package registers its modules with the
core registry (imported on the first lookup by name), so ``get_metric("rougeL")`` finds them.
"""

from mlflow_llm_eval.core.registry import register_metric_modules

register_metric_modules(
    *(
        f"{__name__}.{module}"
        for module in (
            "exact_match",
            "rouge",
            "readability",
            "token_count",
            "latency",
            "toxicity",
            "chrf",
            "bleu",
            "retrieval",
            "tool_calls",
        )
    )
)
