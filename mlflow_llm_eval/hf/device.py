"""Device, precision and batch-size choices shared by every Hugging Face metric.

The string checks need no torch (so metrics validate their options at construction even where
torch is absent); :func:`select_device` and :func:`resolve_dtype` import torch lazily.

    >>> validate_device("cuda:1"), validate_precision("fp32")
    ('cuda:1', 'fp32')
    >>> validate_device("gpu")
    Traceback (most recent call last):
    ...
    ValueError: device must be 'auto', 'cpu', 'mps', 'cuda' or 'cuda:<index>', got 'gpu'
    >>> str(select_device("cpu")), default_batch_size("cpu")
    ('cpu', 8)
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import torch

_DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")

#: Precision names accepted by every HF metric. ``auto``: bf16 on CUDA when the GPU supports it,
#: else fp16 on CUDA; fp32 on CPU and MPS.
PRECISIONS: tuple[str, ...] = ("auto", "fp32", "fp16", "bf16")

#: Rows per forward pass when the user does not choose: small on CPU (a longer batch only adds
#: padding and memory there), large on accelerators. CUDA out-of-memory halves it at run time.
DEFAULT_BATCH_SIZES: dict[str, int] = {"cpu": 8, "mps": 32, "cuda": 64}


def validate_device(device: str) -> str:
    """Check a device spec (``auto``, ``cpu``, ``mps``, ``cuda``, ``cuda:N``) without torch."""
    if not isinstance(device, str) or not _DEVICE_PATTERN.match(device.strip().lower()):
        raise ValueError(
            f"device must be 'auto', 'cpu', 'mps', 'cuda' or 'cuda:<index>', got {device!r}"
        )
    return device.strip().lower()


def validate_precision(precision: str) -> str:
    """Check a precision name (one of :data:`PRECISIONS`) without torch."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    return precision


def select_device(device: str = "auto") -> torch.device:
    """The torch device for a spec: ``auto`` picks CUDA, then Apple MPS, then CPU.

    An explicit ``cuda``/``mps`` that is not available raises ``ValueError`` (no silent CPU
    fallback: the user asked for that hardware).
    """
    import torch

    spec = validate_device(device)
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        if _mps_available(torch):
            return torch.device("mps")
        return torch.device("cpu")
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"device={device!r} but CUDA is not available (torch build/machine)")
        index = int(spec.split(":")[1]) if ":" in spec else torch.cuda.current_device()
        if index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} but only {torch.cuda.device_count()} CUDA device(s) are visible"
            )
        return torch.device("cuda", index)
    if spec == "mps" and not _mps_available(torch):
        raise ValueError("device='mps' but Apple MPS is not available")
    return torch.device(spec)


def _mps_available(torch: Any) -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def resolve_dtype(device: torch.device | str, precision: str = "auto") -> torch.dtype:
    """The weights' dtype: ``auto`` -> bf16/fp16 on CUDA, fp32 elsewhere; explicit names as given.

    On CPU, ``fp16`` is refused (many CPU kernels lack it and it is slower than fp32 there).
    """
    import torch

    validate_precision(precision)
    kind = torch.device(device).type
    if precision == "auto":
        if kind == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    if precision == "fp16" and kind == "cpu":
        raise ValueError("precision='fp16' is not supported on CPU; use 'fp32' or 'bf16'")
    return {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]


def default_batch_size(device: torch.device | str) -> int:
    """Default rows per forward pass for a device (see :data:`DEFAULT_BATCH_SIZES`)."""
    kind = device.type if hasattr(device, "type") else validate_device(str(device)).split(":")[0]
    return DEFAULT_BATCH_SIZES.get(kind, DEFAULT_BATCH_SIZES["cpu"])
