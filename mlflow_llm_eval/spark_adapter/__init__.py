"""Door 3: the core's batch scoring run per Spark partition, with distributed aggregates.

Thin: the executors run the plan's scoring loop, :func:`mlflow_llm_eval.core.engine.score_rows`,
on each Arrow batch (``mapInPandas``); the driver merges the batches' summaries and extra
aggregates (:mod:`mlflow_llm_eval.core.summary`, :mod:`mlflow_llm_eval.core.merge`) and
assembles the aggregates as the pandas path does
(:func:`mlflow_llm_eval.core.engine.assemble_aggregates`). Only DataFrame APIs (no ``sparkContext``, no RDDs), so it runs
on classic Spark and on Spark Connect (Databricks serverless / shared clusters). pyspark is
imported lazily, inside functions.
"""

from mlflow_llm_eval.spark_adapter.evaluate import evaluate_spark, is_spark_dataframe
from mlflow_llm_eval.spark_adapter.session import local_session

__all__ = ["evaluate_spark", "is_spark_dataframe", "local_session"]
