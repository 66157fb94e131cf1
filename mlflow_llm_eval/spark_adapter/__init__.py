"""Door 3: the core's batch scoring run per Spark partition, with distributed aggregates.

Thin: the executors run :func:`mlflow_llm_eval.core.engine.run_metric` on each Arrow batch
(``mapInPandas``); the driver computes each metric's mergeable summary with Spark SQL and turns
it into aggregates with :func:`mlflow_llm_eval.core.aggregate.aggregate_from_summary`, the same
function the pandas path uses. Only DataFrame APIs (no ``sparkContext``, no RDDs), so it runs
on classic Spark and on Spark Connect (Databricks serverless / shared clusters). pyspark is
imported lazily, inside functions.
"""

from mlflow_llm_eval.spark_adapter.evaluate import evaluate_spark, is_spark_dataframe
from mlflow_llm_eval.spark_adapter.session import local_session

__all__ = ["evaluate_spark", "is_spark_dataframe", "local_session"]
