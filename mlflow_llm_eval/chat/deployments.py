"""The ``endpoints:/<name>`` chat client: requests through ``mlflow.deployments`` (Databricks
serving, the MLflow AI gateway; target from ``MLFLOW_DEPLOYMENTS_TARGET``), built by
:func:`.endpoints.make_client`. MLflow's own targets get one direct POST with this client's
timeout and no retries of MLflow's; any other target goes through its ``predict``. A failure is
classified by the HTTP status it carries, else by the exception's type, never by its text.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from typing import Any

from mlflow_llm_eval.chat.answers import completion_from_json, host_of, http_error
from mlflow_llm_eval.chat.types import CallError, Completion, Messages, RateInfo


class DeploymentsChatClient:
    """``endpoints:/<name>`` through ``mlflow.deployments`` (imported here, lazily).

    For the MLflow AI gateway and Databricks serving targets the request is one POST through
    MLflow's ``http_request`` with this client's ``timeout`` and no retries of MLflow's own (the
    engine's count); an error is classified by its HTTP status (never by searching its text),
    a timeout or connection error by the exception's type. Another deployments target goes
    through its ``predict``; the timeout then bounds the wait for it."""

    json_mode = False

    def __init__(self, name: str, *, timeout: float) -> None:
        from mlflow.deployments import get_deploy_client

        self.name, self.timeout = name, float(timeout)
        self._client = get_deploy_client()
        if self._client is None:
            raise ValueError(
                f"judge 'endpoints:/{name}' needs an MLflow deployments target: set "
                "MLFLOW_DEPLOYMENTS_TARGET (e.g. 'databricks' or the gateway URL)"
            )
        target = str(getattr(self._client, "target_uri", ""))
        self.host = host_of(target) if "://" in target else target
        self.identity = f"endpoints|{target}|{name}"
        self._where = f"endpoints:/{name} at {self.host}"
        self._route = _direct_route(self._client, name)

    def __repr__(self) -> str:
        return f"DeploymentsChatClient(endpoints:/{self.name})"

    def complete(self, messages: list[dict[str, Any]], parameters: Mapping[str, Any]) -> Completion:
        inputs = {"messages": messages, **dict(parameters)}
        if self._route is not None:
            return completion_from_json(self._post(inputs))
        try:
            response = self._client.predict(endpoint=self.name, inputs=inputs)
        except Exception as exc:  # noqa: BLE001 - a plugin target wraps HTTP errors its own way
            raise _classify_deployment_error(exc, self._where) from None
        return completion_from_json(response)

    async def acomplete(self, messages: Messages, parameters: Mapping[str, Any]) -> Completion:
        """:meth:`complete` on a worker thread, waited for at most ``timeout`` (+1 s)."""
        from mlflow_llm_eval.chat.loop import blocking_executor

        call = asyncio.get_running_loop().run_in_executor(
            blocking_executor(), self.complete, messages, parameters
        )
        try:
            return await asyncio.wait_for(call, self.timeout + 1.0)
        except asyncio.TimeoutError:
            raise CallError(
                "timeout",
                f"no answer from {self._where} within {self.timeout:g} s",
                unreachable=True,
            ) from None

    def _post(self, inputs: dict[str, Any]) -> Any:
        from mlflow.utils.rest_utils import http_request

        assert self._route is not None  # called only when there is a direct route
        creds, endpoint, headers = self._route
        try:
            response = http_request(
                host_creds=creds(),
                endpoint=endpoint,
                method="POST",
                max_retries=0,
                timeout=self.timeout,
                raise_on_status=False,
                extra_headers=headers,
                json=inputs,
            )
        except Exception as exc:  # noqa: BLE001 - MLflow wraps requests' errors: by type below
            raise _classify_deployment_error(exc, self._where, self.timeout) from None
        if response.status_code >= 400:
            raise http_error(
                response.status_code,
                self._where,
                response.content or b"",
                RateInfo.from_headers(response.headers),
            )
        try:
            return response.json()
        except ValueError:
            return None


def _direct_route(client: Any, name: str) -> tuple[Any, str, dict[str, str] | None] | None:
    """(credentials factory, path, extra headers) of a chat POST for MLflow's own targets."""
    import posixpath

    try:
        from mlflow.deployments.databricks import DatabricksDeploymentClient
        from mlflow.deployments.mlflow import MlflowDeploymentClient
    except ImportError:
        return None
    target = client.target_uri
    if isinstance(client, MlflowDeploymentClient):
        from mlflow.utils.credentials import get_default_host_creds

        return (lambda: get_default_host_creds(target), f"/endpoints/{name}/invocations", None)
    if isinstance(client, DatabricksDeploymentClient):
        from mlflow.utils.databricks_utils import get_databricks_host_creds

        return (
            lambda: get_databricks_host_creds(target),
            posixpath.join("/", "serving-endpoints", name, "invocations"),
            {"X-Databricks-Endpoints-API-Client": "Databricks Deployment Client"},
        )
    return None


def _links(exc: BaseException) -> Iterator[BaseException]:
    """The exception, its causes and contexts, and what requests wraps (urllib3's
    ``MaxRetryError`` and its ``reason``)."""
    seen: BaseException | None = exc
    while seen is not None:
        yield seen
        for arg in seen.args:
            if isinstance(arg, BaseException):
                yield arg
                reason = getattr(arg, "reason", None)
                if isinstance(reason, BaseException):
                    yield reason
        seen = seen.__cause__ or seen.__context__


def _classify_deployment_error(
    exc: BaseException, where: str, timeout: float | None = None
) -> CallError:
    """A deployments client's exception: by the HTTP status it carries (``.response.status_code``
    or ``.status_code``), else by type (a timeout, a connection error); otherwise a request
    error, not retried. Never by searching the message."""
    import requests
    import urllib3

    links = list(_links(exc))
    for seen in links:
        response = getattr(seen, "response", None)
        status = getattr(response, "status_code", getattr(seen, "status_code", None))
        if isinstance(status, int) and status >= 400:
            text = getattr(response, "content", None) or b""
            return http_error(
                status,
                where,
                text if isinstance(text, (bytes, str)) else b"",
                RateInfo.from_headers(getattr(response, "headers", None)),
            )
    refused = (urllib3.exceptions.NewConnectionError, ConnectionError)  # before: a subclass
    timeouts = (requests.exceptions.Timeout, urllib3.exceptions.TimeoutError, TimeoutError)
    broken = (requests.exceptions.ConnectionError, urllib3.exceptions.HTTPError)
    for kinds in (refused, timeouts, broken):
        found = next((seen for seen in links if isinstance(seen, kinds)), None)
        if found is None:
            continue
        if kinds is timeouts:
            within = f" within {timeout:g} s" if timeout is not None else ""
            return CallError("timeout", f"no answer from {where}{within}", unreachable=True)
        return CallError(
            "server_error", f"connection error to {where}: {type(found).__name__}", unreachable=True
        )
    return CallError(
        "request_error", f"{where}: {type(exc).__name__}: {exc}"[:500], retryable=False
    )
