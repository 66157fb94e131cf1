"""Shared Hugging Face plumbing for model-based metrics (toxicity, BERTScore, ...).

Nothing here imports torch or transformers at import time.

- :mod:`.device`: ``select_device("auto"|"cpu"|"cuda:0"|"mps")``, ``resolve_dtype``,
  ``default_batch_size``, string validation usable without torch;
- :mod:`.loading`: ``load_model(source, task=...)`` from a hub name, a local directory or an
  MLflow model URI, cached per process; ``ModelUnavailableError`` names the three ways;
- :mod:`.tokens`: ``encode_texts`` (truncate at the model's limit, flag truncated rows),
  ``collate`` (pad a batch), ``max_input_length``;
- :mod:`.batching`: ``run_sorted_batches`` (length-sorted batches, input order restored, CUDA
  out-of-memory halving back-off).
"""

from mlflow_llm_eval.hf.batching import (
    free_accelerator_memory,
    is_out_of_memory,
    length_sorted_batches,
    run_sorted_batches,
)
from mlflow_llm_eval.hf.device import (
    PRECISIONS,
    default_batch_size,
    resolve_dtype,
    select_device,
    validate_device,
    validate_precision,
)
from mlflow_llm_eval.hf.loading import (
    HOW_TO_PROVIDE,
    LoadedModel,
    ModelUnavailableError,
    check_quantize,
    check_source,
    clear_model_cache,
    load_model,
    source_kind,
)
from mlflow_llm_eval.hf.tokens import Encoded, collate, encode_texts, max_input_length


def dependencies_missing() -> str | None:
    """None when torch and transformers are importable, else the install hint."""
    from importlib.util import find_spec

    missing = [name for name in ("torch", "transformers") if find_spec(name) is None]
    if not missing:
        return None
    return (
        f"{' and '.join(missing)} not installed: pip install 'mlflow-llm-eval[toxicity]' "
        "(torch, transformers)"
    )


__all__ = [
    "HOW_TO_PROVIDE",
    "PRECISIONS",
    "Encoded",
    "LoadedModel",
    "ModelUnavailableError",
    "check_quantize",
    "check_source",
    "clear_model_cache",
    "collate",
    "default_batch_size",
    "dependencies_missing",
    "encode_texts",
    "free_accelerator_memory",
    "is_out_of_memory",
    "length_sorted_batches",
    "load_model",
    "max_input_length",
    "resolve_dtype",
    "run_sorted_batches",
    "select_device",
    "source_kind",
    "validate_device",
    "validate_precision",
]
