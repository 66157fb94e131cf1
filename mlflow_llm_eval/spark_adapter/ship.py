"""Ship metric objects to executors: cloudpickle, with per-process state left behind.

Locks become fresh locks on the executor and cached HTTP clients (``openai``, ``httpx``) are
dropped (the endpoint client rebuilds its own on first use), so a judge that already sent
requests on the driver still ships. Budgets are split on copies (:func:`split_budget`).

    >>> import threading
    >>> from mlflow_llm_eval.chat.options import RequestOptions
    >>> class Holder:
    ...     def __init__(self): self.lock, self.request_options = threading.Lock(), RequestOptions(64)
    >>> loads(dumps(Holder())).lock.acquire(blocking=False)
    True
    >>> split_budget(Holder(), 4).request_options.max_concurrency, ceiling(Holder())
    (16, 64)
"""

from __future__ import annotations

import copy
import io
import pickle
import threading
from typing import Any

from mlflow_llm_eval.chat.options import RequestOptions

_LOCKS = (type(threading.Lock()), type(threading.RLock()))


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
    """A copy of a judge metric or endpoint model whose ``request_options`` are divided among
    ``tasks`` (:meth:`RequestOptions.split <mlflow_llm_eval.chat.RequestOptions.split>`: ceilings
    ``max(1, limit // tasks)``, the caller keeping ``tasks`` at most the smallest ceiling so the sum
    never exceeds it; ``rpm``/``tpm`` ``rate / tasks``). Anything else is copied as it is."""
    shipped = copy.copy(obj)
    options = request_options_of(obj)
    if options is not None:
        shipped.request_options = options.split(tasks)
    return shipped


def request_options_of(obj: Any) -> RequestOptions | None:
    """The request options of a judge or endpoint model; None for what sends no requests."""
    options = getattr(obj, "request_options", None)
    return options if isinstance(options, RequestOptions) else None


def ceiling(obj: Any) -> int | None:
    """The concurrency ceiling of ``obj``'s request options (None if it has none)."""
    options = request_options_of(obj)
    return None if options is None else options.max_concurrency
