"""Load a transformers model + tokenizer once per process, from a hub name, a directory or MLflow.

``source`` is one of:

1. a Hugging Face Hub name (``"unitary/toxic-bert"``): downloaded by transformers, or read
   from the local HF cache when offline;
2. a local directory holding ``save_pretrained`` output (model and tokenizer), or a directory
   saved by ``mlflow.transformers.save_model`` (``model/`` + ``components/tokenizer/``);
3. an MLflow model URI (``runs:/<run_id>/<path>``, ``models:/<name>/<version>``): its artifacts
   are downloaded with ``mlflow.artifacts.download_artifacts`` (mlflow is imported only here)
   and read as in 2.; a model logged with ``save_pretrained=False`` is loaded by its hub name.

Every failure to find a model raises :class:`ModelUnavailableError`, whose message names these
three ways. A path-like ``source`` (``/...``, ``./...``, ``~...``) that does not exist fails in
:func:`check_source` without importing torch, so metrics can reject it at construction.

    >>> source_kind("runs:/abc/model"), source_kind("unitary/toxic-bert")
    ('mlflow', 'hub')
    >>> check_source("/no/such/dir")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mlflow_llm_eval.hf.loading.ModelUnavailableError: cannot load model '/no/such/dir': ...
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mlflow_llm_eval.hf.device import resolve_dtype, select_device, validate_device
from mlflow_llm_eval.hf.tokens import max_input_length

_logger = logging.getLogger(__name__)

Task = Literal["sequence-classification", "feature-extraction", "causal-lm"]
_AUTO_CLASSES = {
    "sequence-classification": "AutoModelForSequenceClassification",
    "causal-lm": "AutoModelForCausalLM",
    "feature-extraction": "AutoModel",
}
MLFLOW_URI_PREFIXES = ("runs:/", "models:/")
QUANTIZE_MODES = (None, "int8")

HOW_TO_PROVIDE = (
    "Provide the model in one of three ways: (1) a Hugging Face Hub name, with network access to "
    "the Hub or the model already in the local Hugging Face cache (HF_HOME); (2) a local "
    "directory with the saved model and tokenizer (model.save_pretrained(path) and "
    "tokenizer.save_pretrained(path)), e.g. model='/Volumes/main/models/tox'; (3) an MLflow model "
    "URI of a model logged with mlflow.transformers.log_model (or whose artifacts hold such a "
    "directory), e.g. model='runs:/<run_id>/model' or model='models:/<name>/<version>'."
)


class ModelUnavailableError(OSError):
    """The model could not be found or loaded; the message says how to provide it."""

    def __init__(self, source: str, cause: str) -> None:
        super().__init__(f"cannot load model '{source}': {cause.rstrip('. ')}. {HOW_TO_PROVIDE}")
        self.source, self.cause = source, cause


@dataclass(frozen=True)
class LoadedModel:
    """A ready model: on its device, in eval mode, with its tokenizer and input limit."""

    model: Any
    tokenizer: Any
    device: Any
    dtype: Any
    source: str
    max_length: int
    quantize: str | None = None

    @property
    def config(self) -> Any:
        return self.model.config


def source_kind(source: str) -> Literal["mlflow", "local", "hub"]:
    """How ``source`` will be loaded: MLflow URI, existing/path-like local directory, or hub."""
    if source.startswith(MLFLOW_URI_PREFIXES):
        return "mlflow"
    if (
        os.path.exists(os.path.expanduser(source))
        or source.startswith(("/", ".", "~", "\\"))
        or (len(source) > 1 and source[1] == ":")
    ):
        return "local"
    return "hub"


def check_source(source: str) -> str:
    """Validate ``source`` without loading anything: a local path must exist. Returns it."""
    if not isinstance(source, str) or not source.strip():
        raise ValueError(f"model must be a non-empty string, got {source!r}")
    if source_kind(source) == "local" and not os.path.isdir(os.path.expanduser(source)):
        raise ModelUnavailableError(source, "no such directory")
    return source


def check_quantize(quantize: str | None, device: str, precision: str) -> str | None:
    """Validate a quantisation mode against device and precision (int8 is CPU + fp32 only)."""
    if quantize not in QUANTIZE_MODES:
        raise ValueError(f"quantize must be one of {QUANTIZE_MODES}, got {quantize!r}")
    if quantize is not None and (
        validate_device(device) not in ("auto", "cpu") or precision not in ("auto", "fp32")
    ):
        raise ValueError(
            "quantize='int8' runs on CPU in fp32: use device='cpu' (or 'auto') "
            "and precision='auto' or 'fp32'"
        )
    return quantize


def _has_weights_config(path: Path) -> bool:
    return (path / "config.json").is_file()


def _has_tokenizer(path: Path) -> bool:
    names = ("tokenizer.json", "tokenizer_config.json", "vocab.txt")
    return any((path / name).is_file() for name in names)


def component_dirs(root: str | os.PathLike[str]) -> tuple[Path, Path] | None:
    """(model dir, tokenizer dir) inside a save_pretrained or mlflow.transformers directory."""
    root = Path(root)
    model_dir = next((d for d in (root, root / "model") if _has_weights_config(d)), None)
    if model_dir is None:
        return None
    candidates = (root / "components" / "tokenizer", model_dir, root)
    tokenizer_dir = next((d for d in candidates if _has_tokenizer(d)), model_dir)
    return model_dir, tokenizer_dir


def _hub_reference(root: Path) -> tuple[str, str | None] | None:
    """(hub name, revision) of an MLflow transformers model logged without its weights."""
    mlmodel = root / "MLmodel"
    if not mlmodel.is_file():
        return None
    import yaml

    flavor = (yaml.safe_load(mlmodel.read_text()) or {}).get("flavors", {}).get("transformers", {})
    name = flavor.get("source_model_name")
    return (name, flavor.get("source_model_revision")) if name else None


def _download_mlflow(uri: str) -> Path:
    import mlflow  # only this branch needs MLflow

    try:
        return Path(mlflow.artifacts.download_artifacts(artifact_uri=uri))
    except Exception as exc:  # any MLflow failure means "not found here"
        raise ModelUnavailableError(
            uri, f"MLflow could not download it ({type(exc).__name__}: {exc})"
        ) from exc


def _locate(source: str) -> tuple[str, str, str | None]:
    """(model location, tokenizer location, revision) that from_pretrained understands."""
    kind = source_kind(source)
    if kind == "hub":
        return source, source, None
    root = _download_mlflow(source) if kind == "mlflow" else Path(os.path.expanduser(source))
    if not root.is_dir():
        raise ModelUnavailableError(source, "no such directory")
    dirs = component_dirs(root)
    if dirs is not None:
        return str(dirs[0]), str(dirs[1]), None
    reference = _hub_reference(root)
    if reference is not None:
        return reference[0], reference[0], reference[1]
    raise ModelUnavailableError(source, f"no config.json found in {root} or {root / 'model'}")


def _load_uncached(
    source: str, task: Task, device: Any, dtype: Any, quantize: str | None
) -> LoadedModel:
    import torch
    import transformers

    model_location, tokenizer_location, revision = _locate(source)
    auto_model = getattr(transformers, _AUTO_CLASSES[task])

    def from_pretrained(local_files_only: bool) -> tuple[Any, Any]:
        options = {"revision": revision, "local_files_only": local_files_only}
        tokenizer = transformers.AutoTokenizer.from_pretrained(tokenizer_location, **options)
        return tokenizer, auto_model.from_pretrained(model_location, dtype=dtype, **options)

    try:
        try:  # the local HF cache first: no network round trip when the model is there
            tokenizer, model = from_pretrained(local_files_only=True)
        except OSError:
            if _hub_offline() or os.path.isdir(model_location):
                raise
            unreachable = _hub_unreachable()
            if unreachable:  # fail in seconds, not after the Hub client's minute of retries
                raise OSError(unreachable) from None
            tokenizer, model = from_pretrained(local_files_only=False)
    except Exception as exc:  # hub/offline/format errors all mean "not loadable"
        raise ModelUnavailableError(source, f"{type(exc).__name__}: {str(exc)[:500]}") from exc
    model.eval()
    if quantize == "int8":
        # in place: each fp32 Linear is freed as it is replaced, so peak memory stays near fp32's
        model = torch.ao.quantization.quantize_dynamic(
            model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True
        )
    model.to(device)
    return LoadedModel(
        model, tokenizer, device, dtype, source, max_input_length(tokenizer, model.config), quantize
    )


def _hub_unreachable(timeout: float = 3.0) -> str | None:
    """Why the Hub ($HF_ENDPOINT) cannot be reached, or None: one TCP connect, no request."""
    import socket
    from urllib.parse import urlsplit

    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    parts = urlsplit(endpoint)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=timeout):
            return None
    except OSError as exc:
        return (
            f"the model is not in the local Hugging Face cache and the Hub ({endpoint}) is "
            f"unreachable: {exc}"
        )


def _hub_offline() -> bool:
    return any(
        os.environ.get(v, "").upper() in ("1", "ON", "YES", "TRUE")
        for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


_cache: dict[tuple[Any, ...], LoadedModel] = {}
_lock = threading.Lock()


def load_model(
    source: str,
    *,
    task: Task = "sequence-classification",
    device: str = "auto",
    precision: str = "auto",
    quantize: str | None = None,
) -> LoadedModel:
    """Load (or reuse) ``source`` for ``task`` on ``device`` in ``precision``.

    ``quantize="int8"`` applies torch dynamic int8 quantisation to the Linear layers (CPU only;
    ``device="auto"`` then means CPU). Loaded models are cached per process by
    (source, task, device, dtype, quantize).
    """
    check_source(source)
    if check_quantize(quantize, device, precision) is not None:
        device = "cpu"
    torch_device = select_device(device)
    dtype = resolve_dtype(torch_device, precision)
    local = source_kind(source) == "local"
    location = os.path.realpath(os.path.expanduser(source)) if local else source
    key = (location, task, str(torch_device), str(dtype), quantize)
    with _lock:
        if key not in _cache:
            _logger.info("loading %s model %s on %s (%s)", task, source, torch_device, dtype)
            _cache[key] = _load_uncached(source, task, torch_device, dtype, quantize)
        return _cache[key]


def clear_model_cache() -> None:
    """Forget every loaded model (frees their memory once no metric holds them)."""
    with _lock:
        _cache.clear()
