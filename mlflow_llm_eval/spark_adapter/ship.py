"""Ship metric objects to executors: cloudpickle, with per-process state left behind.

Locks become fresh locks on the executor and cached HTTP clients (``openai``, ``httpx``) are
dropped (the endpoint client rebuilds its own on first use), so a judge that already sent
requests on the driver still ships. Budgets are split on copies (:func:`split_budget`).

Credentials stay on the driver by default: an endpoint client's secret request headers (the
``Authorization`` / ``api-key`` made from the driver's ``OPENAI_API_KEY`` /
``AZURE_OPENAI_API_KEY``, secret ``extra_headers``) are left out of the pickled bytes, and the
executor fills them in when it unpickles the client, from ``credentials`` (a callable shipped
with the plan and called on the executor, returning variables by name, e.g.
``{"OPENAI_API_KEY": ...}``, or a secret header by its header name) or else from its own
environment (a cluster-level secret reference such as
``spark.executorEnv.OPENAI_API_KEY={{secrets/scope/openai}}``). ``ship_credentials=True``
pickles the driver's headers as they are (opt-in, see :func:`dumps`).

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
import os
import pickle
import threading
from typing import Any

from mlflow_llm_eval.chat.options import RequestOptions

_LOCKS = (type(threading.Lock()), type(threading.RLock()))


def _new_lock(reentrant: bool) -> Any:
    return threading.RLock() if reentrant else threading.Lock()


def _dropped() -> None:
    return None


#: Where an executor finds each secret header of an endpoint client (variables, in order).
HEADER_SOURCES = {
    "Authorization": ("OPENAI_API_KEY",),
    "api-key": ("AZURE_OPENAI_API_KEY", "AZURE_API_KEY"),
}
#: Variables of ``credentials`` that an ``endpoints:/`` client reads from the environment (the
#: MLflow deployments client reads nothing else): set on the executor when missing there.
DEPLOYMENT_ENV = ("DATABRICKS_HOST", "DATABRICKS_TOKEN", "MLFLOW_DEPLOYMENTS_TARGET")
_CLIENTS = ("OpenAIChatClient", "DeploymentsChatClient")


def _is_client(value: Any) -> bool:
    return type(value).__name__ in _CLIENTS and (type(value).__module__ or "").startswith(
        "mlflow_llm_eval."
    )


def _without_credentials(client: Any) -> tuple[dict[str, Any], list[str]]:
    """The client's state minus its secret headers, and the names of those headers."""
    from mlflow_llm_eval.redaction import is_secret_name

    state = dict(client.__dict__)
    headers = dict(state.get("_headers") or {})
    removed = [name for name in headers if is_secret_name(name)]
    state["_headers"] = {k: v for k, v in headers.items() if k not in removed}
    return state, removed


def _client_on_executor(
    cls: type, state: dict[str, Any], removed: list[str], credentials: Any
) -> Any:
    """Unpickled on the executor: the client with its secret headers resolved here."""
    values = dict(credentials() or {}) if credentials is not None else {}
    client: Any = object.__new__(cls)
    client.__dict__.update(state)
    if cls.__name__ == "DeploymentsChatClient":
        for name in DEPLOYMENT_ENV:  # what mlflow.deployments reads (the environment only)
            if values.get(name):
                os.environ.setdefault(name, str(values[name]))
        return client
    headers = dict(state.get("_headers") or {})
    for header in removed:
        sources = HEADER_SOURCES.get(header, ())
        value = values.get(header) or next(
            (
                str(values.get(n) or os.environ.get(n))
                for n in sources
                if values.get(n) or os.environ.get(n)
            ),
            None,
        )
        if value is None:
            where = (
                f"set {' or '.join(sources)} in the executors' environment (e.g. a cluster "
                "secret reference, spark.executorEnv.<NAME>), "
                if sources
                else ""
            )
            raise RuntimeError(
                f"the executor has no value for the secret header {header!r} of "
                f"{getattr(client, 'identity', cls.__name__)}: {where}pass credentials=<a "
                f"callable returning {{'{(sources or (header,))[0]}': ...}}, called on the "
                "executor>, or opt in to shipping the driver's value with ship_credentials=True"
            )
        headers[header] = (
            f"Bearer {value}"
            if header == "Authorization" and sources and not value.startswith(("Bearer ", "Basic "))
            else value
        )
    client._headers = headers
    return client


def dumps(obj: Any, *, ship_credentials: bool = False, credentials: Any = None) -> bytes:
    """Pickle ``obj`` for an executor (see the module docstring): endpoint clients without
    their secret headers, resolved on the executor from ``credentials`` (a callable, run there)
    or its environment; ``ship_credentials=True``: the driver's headers as they are."""
    from pyspark import cloudpickle

    if credentials is not None and not callable(credentials):
        raise TypeError(
            "credentials must be a callable run on each executor, returning a "
            "mapping such as {'OPENAI_API_KEY': ...}; got "
            f"{type(credentials).__name__}"
        )

    class _Pickler(cloudpickle.Pickler):
        def reducer_override(self, value: Any) -> Any:
            if isinstance(value, _LOCKS):
                return _new_lock, (isinstance(value, _LOCKS[1]),)
            module = type(value).__module__ or ""
            if module.split(".")[0] in ("openai", "httpx"):
                return _dropped, ()
            if not ship_credentials and _is_client(value):
                state, removed = _without_credentials(value)
                return _client_on_executor, (type(value), state, removed, credentials)
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
