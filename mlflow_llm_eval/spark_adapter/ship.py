"""Ship metric objects to executors: cloudpickle, with per-process state left behind.

Locks become fresh locks on the executor and cached HTTP clients (``openai``, ``httpx``) are
dropped (the endpoint client rebuilds its own on first use), so a judge that already sent
requests on the driver still ships. Budgets are split on copies (:func:`split_budget`).

    >>> import threading
    >>> class Holder:
    ...     def __init__(self): self.lock, self.max_concurrency = threading.Lock(), 64
    >>> loads(dumps(Holder())).lock.acquire(blocking=False)
    True
    >>> split_budget(Holder(), 4).max_concurrency
    16
"""

from __future__ import annotations

import copy
import io
import pickle
import threading
from typing import Any

_LOCKS = (type(threading.Lock()), type(threading.RLock()))
#: Attributes that are concurrency ceilings (split as integers, at least 1).
CONCURRENCY_ATTRIBUTES = ("max_concurrency", "concurrency")
#: Attributes that are rates (requests / tokens per minute; split as floats).
RATE_ATTRIBUTES = ("rpm", "tpm")


def _new_lock(reentrant: bool) -> Any:
    return threading.RLock() if reentrant else threading.Lock()


def _dropped() -> None:
    return None


def dumps(obj: Any) -> bytes:
    """Pickle ``obj`` for an executor (see the module docstring)."""
    from pyspark import cloudpickle

    class _Pickler(cloudpickle.Pickler):
        def reducer_override(self, value: Any) -> Any:
            if isinstance(value, _LOCKS):
                return _new_lock, (isinstance(value, _LOCKS[1]),)
            module = type(value).__module__ or ""
            if module.split(".")[0] in ("openai", "httpx"):
                return _dropped, ()
            return super().reducer_override(value)

    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buffer.getvalue()


def loads(blob: bytes) -> Any:
    return pickle.loads(blob)


def split_budget(obj: Any, tasks: int) -> Any:
    """A copy of a judge metric or endpoint model with its limits divided among ``tasks``.

    Concurrency ceilings become ``max(1, limit // tasks)`` (the caller keeps ``tasks`` at most
    the smallest ceiling, so the sum never exceeds it); ``rpm``/``tpm`` become ``rate / tasks``.
    """
    shipped = copy.copy(obj)
    for name in CONCURRENCY_ATTRIBUTES:
        declared = getattr(type(shipped), name, None)
        if isinstance(declared, property) and declared.fset is None:
            continue  # a read-only alias of another ceiling (EndpointModel.concurrency)
        value = getattr(shipped, name, None)
        if isinstance(value, int) and not isinstance(value, bool):
            setattr(shipped, name, max(1, value // tasks))
    for name in RATE_ATTRIBUTES:
        value = getattr(shipped, name, None)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            setattr(shipped, name, value / tasks)
    initial = getattr(shipped, "initial_concurrency", None)
    if isinstance(initial, int) and isinstance(getattr(shipped, "max_concurrency", None), int):
        shipped.initial_concurrency = min(initial, shipped.max_concurrency)
    return shipped


def ceiling(obj: Any) -> int | None:
    """The smallest concurrency ceiling ``obj`` declares (None if it declares none)."""
    values = [getattr(obj, n) for n in CONCURRENCY_ATTRIBUTES
              if isinstance(getattr(obj, n, None), int)]
    return min(values) if values else None
