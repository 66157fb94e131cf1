"""Per-language aggregates on Spark, logged as the classic door logs them (issue 19).

The executors give each row of the written results a language code (the same rule as the
classic door: the ``language`` column, else the evaluation's ``language``, else detected from
the prediction, or the target where the prediction is empty); the driver then computes each
metric's summary over one language's rows with
:func:`~mlflow_llm_eval.spark_adapter.aggregate.summaries` (one Spark job per language, score
and code columns only, no text reaches the driver) and turns it into the aggregates with
:func:`~mlflow_llm_eval.core.aggregate.aggregate_from_summary`, the functions the overall
aggregates use. :func:`log_spark_languages` logs signatures and the table through
:mod:`mlflow_llm_eval.mlflow_adapter.multilingual`, under the same keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd  # module level: Spark reads the pandas UDF's type hints from these globals

from mlflow_llm_eval.core.aggregate import aggregate_from_summary
from mlflow_llm_eval.core.by_language import PER_LANGUAGE, row_codes
from mlflow_llm_eval.core.plan import EvaluationPlan, column_of
from mlflow_llm_eval.mlflow_adapter.multilingual import (
    language_setup,
    log_language_table,
    log_signatures,
)
from mlflow_llm_eval.spark_adapter.aggregate import summaries

CODE_COLUMN = "__llm_eval_language"
__all__ = ["language_setup", "log_spark_languages", "spark_language_table"]


def _codes_udf(language: str | None, has_column: bool) -> Any:
    from pyspark.sql.functions import pandas_udf

    @pandas_udf("string")
    def codes(predictions: pd.Series, targets: pd.Series, given: pd.Series) -> pd.Series:
        return pd.Series(
            row_codes(
                predictions.tolist(),
                column=given.tolist() if has_column else None,
                override=language,
                fallback=targets.tolist(),
            )
        )

    return codes


def spark_language_table(
    written: Any, plan: EvaluationPlan, defaults: Mapping[str, str], language: str | None
) -> tuple[dict[str, dict[str, dict[str, float]]], list[str]]:
    """metric key -> language -> aggregates (``{}`` for one language), and the languages."""
    from pyspark.sql import functions as F

    columns = list(written.columns)
    mapping = plan.config.col_mapping

    def text(logical: str) -> Any:
        name = column_of(logical, columns, defaults, mapping)
        return F.col(f"`{name}`").cast("string") if name else F.lit(None).cast("string")

    if column_of("predictions", columns, defaults, mapping) is None:
        return {}, []
    has_column = column_of("language", columns, defaults, mapping) is not None
    metrics = [m for m in plan.metrics if plan.column(m, "score") in columns]
    udf = _codes_udf(language, has_column)
    coded = written.select(
        udf(text("predictions"), text("targets"), text("language")).alias(CODE_COLUMN),
        *[F.col(f"`{plan.column(m, 'score')}`") for m in metrics],
    ).cache()
    try:
        languages = sorted(r[0] for r in coded.select(CODE_COLUMN).distinct().collect())
        if len(set(languages) - {"und"}) < 2 or not metrics:
            return {}, languages
        table: dict[str, dict[str, dict[str, float]]] = {m.key: {} for m in metrics}
        for code in languages:
            found = summaries(coded.where(F.col(CODE_COLUMN) == code), metrics, plan)
            for metric in metrics:
                values = aggregate_from_summary(
                    found[metric.key], ("mean",), metric.value_kind, metric.value_range
                )
                table[metric.key][code] = {name: float(values[name]) for name in PER_LANGUAGE}
        return table, languages
    finally:
        coded.unpersist()


def log_spark_languages(
    run_id: str,
    written: Any,
    plan: EvaluationPlan,
    defaults: Mapping[str, str],
    language: str | None,
) -> dict[str, float]:
    """Log each metric's signature and the per-language aggregates of the Spark results."""
    prefix = plan.config.metric_prefix
    log_signatures(run_id, plan.metrics, prefix)
    table, languages = spark_language_table(written, plan, defaults, language)
    return log_language_table(run_id, table, languages, prefix)
