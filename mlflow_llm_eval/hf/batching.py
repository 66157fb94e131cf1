"""Length-sorted batching with input order restored, and CUDA out-of-memory back-off.

Rows are sorted by token length (longest first) so each batch pads little, and so a batch that
runs out of GPU memory does so at the start of a run. On out-of-memory the batch size is halved
and the same rows are retried; the smaller size is kept for the rest of the call. A batch of one
row that still runs out of memory re-raises.

    >>> def run(batch):
    ...     return [len(s) for s in batch]
    >>> run_sorted_batches(["bb", "a", "cccc", ""], [2, 1, 4, 0], run, batch_size=2)
    [2, 1, 4, 0]
    >>> length_sorted_batches([2, 1, 4, 0], 3)
    [[2, 0, 1], [3]]
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

_logger = logging.getLogger(__name__)


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Row indices grouped into batches of ``batch_size``, longest rows first (stable)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def is_out_of_memory(exc: BaseException) -> bool:
    """True for ``torch.cuda.OutOfMemoryError`` and the RuntimeErrors MPS/older torch raise."""
    if type(exc).__name__ == "OutOfMemoryError":
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def free_accelerator_memory() -> None:
    """Release cached CUDA/MPS blocks after an out-of-memory error (no-op on CPU)."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    mps_backend = getattr(torch.backends, "mps", None)
    if mps_backend is not None and mps_backend.is_available():
        torch.mps.empty_cache()


def run_sorted_batches(
    items: Sequence[T],
    lengths: Sequence[int],
    run_batch: Callable[[list[T]], Sequence[R]],
    batch_size: int,
    *,
    on_out_of_memory: Callable[[], None] | None = None,
) -> list[R]:
    """Call ``run_batch`` on length-sorted batches; return one result per item, in input order.

    ``run_batch`` gets a list of items and returns one result per item. When it raises an
    out-of-memory error (:func:`is_out_of_memory`), ``on_out_of_memory`` runs (e.g.
    :func:`free_accelerator_memory`), the batch size is halved and the rows are retried.
    """
    if len(items) != len(lengths):
        raise ValueError(f"{len(items)} items but {len(lengths)} lengths")
    order = [i for batch in length_sorted_batches(lengths, 1) for i in batch]
    results: list[R | None] = [None] * len(items)
    size, position = batch_size, 0
    while position < len(order):
        index = order[position : position + size]
        try:
            out = run_batch([items[i] for i in index])
        except Exception as exc:
            if not is_out_of_memory(exc) or size == 1:
                raise
            size = max(1, size // 2)
            _logger.warning(
                "out of memory on a batch of %d rows; retrying with batch_size=%d", len(index), size
            )
            if on_out_of_memory is not None:
                on_out_of_memory()
            continue
        if len(out) != len(index):
            raise RuntimeError(f"run_batch returned {len(out)} results for {len(index)} items")
        for i, value in zip(index, out):
            results[i] = value
        position += len(index)
    return results  # type: ignore[return-value]
