"""Multi-model evaluation configs (``eval.yaml``): schema, loading, validation with line numbers."""

from mlflow_llm_eval.config.loader import ConfigError, ConfigIssue, LoadedConfig, load_config
from mlflow_llm_eval.config.schema import EvalConfig, ModelSpec

__all__ = ["ConfigError", "ConfigIssue", "EvalConfig", "LoadedConfig", "ModelSpec", "load_config"]
