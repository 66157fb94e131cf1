"""Self-contained HTML reports: one per evaluation, one comparing several models."""

from mlflow_llm_eval.report.comparison import comparison_frame, comparison_report
from mlflow_llm_eval.report.evaluation import evaluation_report

__all__ = ["comparison_frame", "comparison_report", "evaluation_report"]
