"""Chat endpoints (judges and models under test): ``openai:/<model>``, ``azure:/<deployment>``,
``endpoints:/<name>``.

- ``openai:/gpt-4o-mini`` uses ``OPENAI_API_KEY`` and, for any OpenAI-compatible server (vLLM,
  Ollama, a proxy), ``OPENAI_API_BASE`` or ``OPENAI_BASE_URL`` (MLflow's order), or ``proxy_url``.
- ``azure:/<deployment>`` uses ``AZURE_OPENAI_API_KEY`` (or MLflow's ``AZURE_API_KEY``),
  ``AZURE_OPENAI_ENDPOINT`` (or ``AZURE_API_BASE``) and ``OPENAI_API_VERSION`` (or
  ``AZURE_API_VERSION``).
- ``endpoints:/<name>`` goes through ``mlflow.deployments`` (Databricks serving, MLflow AI
  gateway; target from ``MLFLOW_DEPLOYMENTS_TARGET``).

Checks happen when the client is built (a missing key or an unknown scheme is an error before any
row is sent). OpenAI and Azure requests go through one shared ``aiohttp`` connection pool on the
request loop (:mod:`.loop`): the ``openai`` client costs ~3 ms of CPU per request, a plain POST
~0.4 ms (measured, see the README). Keys are read from the environment and kept only in the
request headers: never in :attr:`ChatClient.identity`, reprs, errors or logs. Errors name the
endpoint's host.

    >>> parse_model_uri("openai:/gpt-4o-mini")
    ('openai', 'gpt-4o-mini')
    >>> parse_model_uri("gpt-4")
    Traceback (most recent call last):
    ...
    ValueError: judge model 'gpt-4' must look like '<scheme>:/<model>', e.g. 'openai:/gpt-4o-mini'; schemes: openai, endpoints, azure
"""

from __future__ import annotations

import asyncio
import json
import os
import urllib.parse
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from mlflow_llm_eval.chat.schemes import SCHEMES
from mlflow_llm_eval.chat.types import (
    CallError,
    ChatClient,
    Completion,
    Messages,
    RateInfo,
    classify_status,
)

DEFAULT_AZURE_API_VERSION = "2024-06-01"


def parse_model_uri(model: str) -> tuple[str, str]:
    scheme, sep, name = str(model).partition(":/")
    name = name.lstrip("/")
    if not sep or not scheme or not name:
        raise ValueError(
            f"judge model '{model}' must look like '<scheme>:/<model>', e.g. "
            f"'openai:/gpt-4o-mini'; schemes: {', '.join(SCHEMES)}"
        )
    if scheme not in SCHEMES:
        raise ValueError(
            f"judge model '{model}': unknown scheme '{scheme}'; use one of "
            f"{', '.join(f'{s}:/' for s in SCHEMES)}"
        )
    return scheme, name


def _env(*names: str) -> str | None:
    for name in names:
        if os.environ.get(name):
            return os.environ[name]
    return None


def host_of(url: str) -> str:
    """``host[:port]`` of a URL, without any user info (what error reasons name)."""
    parts = urlsplit(url)
    host = parts.hostname or url
    return f"{host}:{parts.port}" if parts.port else host


def _error_body(data: bytes | str) -> tuple[str, str | None, str | None]:
    """The message of an error answer, and its ``param`` and ``code`` (OpenAI's error shape)."""
    try:
        error = json.loads(data).get("error")
        if isinstance(error, Mapping):
            param, code = error.get("param"), error.get("code")
            return (
                str(error.get("message") or error),
                param if isinstance(param, str) else None,
                code if isinstance(code, str) else None,
            )
        if error:
            return str(error), None, None
    except (ValueError, AttributeError):
        pass
    text = data[:300]
    return (text.decode("utf-8", "replace") if isinstance(text, bytes) else text), None, None


def http_error(status: int, where: str, data: bytes | str, rate: RateInfo | None) -> CallError:
    """The classified error of an HTTP error answer (by its status), with the body's message,
    ``param`` and ``code``."""
    message, param, code = _error_body(data)
    error = classify_status(
        status,
        f"HTTP {status} from {where}: {message}"[:500],
        rate.retry_after if rate else None,
        rate,
    )
    error.status, error.param, error.code = status, param, code
    return error


class OpenAIChatClient:
    """OpenAI or Azure OpenAI (or any OpenAI-compatible server): one POST per request through the
    shared ``aiohttp`` pool; no retries of its own (the engine's count)."""

    json_mode = True

    def __init__(
        self,
        scheme: str,
        model: str,
        *,
        timeout: float,
        extra_headers: Mapping[str, str] | None = None,
        proxy_url: str | None = None,
        api_version: str | None = None,
    ):
        self.scheme, self.model, self.timeout = scheme, model, float(timeout)
        headers = {"Content-Type": "application/json"}
        if scheme == "openai":
            key = _env("OPENAI_API_KEY")
            if not key:
                raise ValueError(
                    "judge 'openai:/"
                    + model
                    + "' needs an API key: set OPENAI_API_KEY (for a local "
                    "OpenAI-compatible server without keys, any non-empty value)"
                )
            base = (
                proxy_url
                or _env("OPENAI_API_BASE", "OPENAI_BASE_URL")
                or "https://api.openai.com/v1"
            )
            self.base_url = base.rstrip("/").removesuffix("/chat/completions")
            self._url = self.base_url + "/chat/completions"
            headers["Authorization"] = f"Bearer {key}"
            for env, name in (
                ("OPENAI_ORG_ID", "OpenAI-Organization"),
                ("OPENAI_PROJECT_ID", "OpenAI-Project"),
            ):
                if _env(env):
                    headers[name] = str(_env(env))
        else:
            key = _env("AZURE_OPENAI_API_KEY", "AZURE_API_KEY")
            endpoint = proxy_url or _env("AZURE_OPENAI_ENDPOINT", "AZURE_API_BASE")
            missing = [
                n
                for n, v in (("AZURE_OPENAI_API_KEY", key), ("AZURE_OPENAI_ENDPOINT", endpoint))
                if not v
            ]
            if missing:
                raise ValueError(
                    f"judge 'azure:/{model}' needs {' and '.join(missing)} "
                    "(or MLflow's AZURE_API_KEY / AZURE_API_BASE)"
                )
            self.base_url = str(endpoint).rstrip("/")
            self.api_version = (
                api_version
                or _env("OPENAI_API_VERSION", "AZURE_API_VERSION")
                or DEFAULT_AZURE_API_VERSION
            )
            self._url = (
                f"{self.base_url}/openai/deployments/{model}/chat/completions"
                f"?api-version={self.api_version}"
            )
            headers["api-key"] = str(key)
        headers.update(extra_headers or {})
        self._headers = headers  # holds the key: never shown (see __repr__)
        self._client_timeout: Any = None  # aiohttp.ClientTimeout, made on first use
        self.host = host_of(self.base_url)
        self.identity = f"{scheme}|{self.base_url}|{model}"

    def __repr__(self) -> str:
        return f"OpenAIChatClient({self.scheme}:/{self.model}, base_url={self.base_url!r})"

    def complete(self, messages: Messages, parameters: Mapping[str, Any]) -> Completion:
        """Blocking form of :meth:`acomplete` (runs it on the request loop)."""
        from mlflow_llm_eval.chat.loop import submit

        return submit(self.acomplete(messages, parameters)).result()

    async def acomplete(self, messages: Messages, parameters: Mapping[str, Any]) -> Completion:
        body: dict[str, Any] = {"model": self.model, "messages": messages, **dict(parameters)}
        asked = "response_format" in body  # a caller's own (a JSON schema) wins over JSON mode
        if self.json_mode and not asked:
            body["response_format"] = {"type": "json_object"}
        try:
            answer, rate = await self.post_json(self._url, body)
        except CallError as exc:
            if (
                exc.status == 400
                and self.json_mode
                and not asked
                and (exc.param == "response_format" or "response_format" in str(exc))
            ):
                self.json_mode = False  # an OpenAI-compatible server without JSON mode
                return await self.acomplete(messages, parameters)
            raise
        return completion_from_json(answer, rate)

    async def post_json(self, url: str, body: Mapping[str, Any]) -> tuple[Any, RateInfo | None]:
        """POST ``body`` to ``url`` with this client's headers: the JSON answer (None if not
        JSON) and its rate headers; a failure is a classified :class:`CallError`."""
        import aiohttp

        from mlflow_llm_eval.chat.loop import env_options, http_session

        if self._client_timeout is None or self._client_timeout.total != self.timeout:
            self._client_timeout = aiohttp.ClientTimeout(total=self.timeout)
        try:
            options = await env_options(url, "Authorization" in self._headers)
            async with http_session().post(
                url,
                data=json.dumps(body),
                headers=self._headers,
                timeout=self._client_timeout,
                **options,
            ) as response:
                data = await response.read()
                status, headers = response.status, response.headers
        except (asyncio.TimeoutError, aiohttp.ServerTimeoutError):
            raise CallError(
                "timeout", f"no answer from {self.host} within {self.timeout:g} s", unreachable=True
            ) from None
        except aiohttp.ClientError as exc:
            raise CallError(
                "server_error",
                f"connection error to {self.host}: {type(exc).__name__}: {exc}"[:500],
                unreachable=True,
            ) from None
        rate = RateInfo.from_headers(headers)
        if status >= 400:
            raise http_error(status, self.host, data, rate)
        try:
            return json.loads(data), rate
        except ValueError:
            return None, rate


def completion_from_json(response: Any, rate: RateInfo | None = None) -> Completion:
    """Text and token usage of a chat-completions JSON answer (any malformed part -> None/0)."""
    if not isinstance(response, Mapping):
        return Completion(None)
    choices = response.get("choices") or [{}]
    message = choices[0].get("message") if isinstance(choices[0], Mapping) else None
    text = message.get("content") if isinstance(message, Mapping) else None
    usage = response.get("usage")
    if not isinstance(usage, Mapping):
        usage = {}
    return Completion(
        text if isinstance(text, str) else None,
        int(usage.get("prompt_tokens") or 0),
        int(usage.get("completion_tokens") or 0),
        rate,
    )


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


def proxy_base(scheme: str, model: str, proxy_url: str) -> tuple[str, str | None]:
    """MLflow's ``proxy_url`` (the full URL every request is posted to) as the client's base URL
    (and the Azure ``api-version`` it names); ValueError if our clients would post elsewhere.

    >>> proxy_base("openai", "m", "https://gw.corp/v1/chat/completions")
    ('https://gw.corp/v1', None)
    >>> proxy_base("azure", "dep", "https://r.azure.com/openai/deployments/dep/chat/completions?api-version=2024-02-01")
    ('https://r.azure.com', '2024-02-01')
    """
    parsed = urllib.parse.urlsplit(str(proxy_url).strip())
    path = parsed.path.rstrip("/")
    suffix = (
        f"/openai/deployments/{model}/chat/completions"
        if scheme == "azure"
        else "/chat/completions"
    )
    query = urllib.parse.parse_qs(parsed.query)
    extra_query = set(query) - ({"api-version"} if scheme == "azure" else set())
    if (
        parsed.scheme not in ("http", "https")
        or not parsed.netloc
        or not path.endswith(suffix)
        or extra_query
        or parsed.fragment
    ):
        raise ValueError(
            f"proxy_url {proxy_url!r}: for '{scheme}:/{model}' it must be the full URL the chat "
            f"requests are posted to, as in MLflow: http(s)://<host>[/<prefix>]{suffix}"
            + ("[?api-version=<version>]" if scheme == "azure" else "")
            + " (requests are sent nowhere else; to point at an OpenAI-compatible base URL set "
            "OPENAI_BASE_URL instead)"
        )
    base = urllib.parse.urlunsplit((parsed.scheme, parsed.netloc, path[: -len(suffix)], "", ""))
    return base, next(iter(query.get("api-version") or ()), None)


def make_client(
    model: str,
    *,
    timeout: float,
    extra_headers: Mapping[str, str] | None = None,
    proxy_url: str | None = None,
) -> ChatClient:
    """Build the client for a judge model URI; raises ValueError with what is missing.

    ``proxy_url`` and ``extra_headers`` mean what they mean in MLflow's ``make_genai_metric``:
    the full chat-completions URL (see :func:`proxy_base`) and headers added to every request
    (over the client's own). ``endpoints:/`` goes through ``mlflow.deployments``, which takes
    neither (MLflow ignores them there): giving one is an error, not a silent drop.
    """
    scheme, name = parse_model_uri(model)
    if scheme == "endpoints":
        given = [n for n, v in (("proxy_url", proxy_url), ("extra_headers", extra_headers)) if v]
        if given:
            raise ValueError(
                f"judge '{model}': {' and '.join(given)} cannot be used with "
                "endpoints:/ (requests go to the MLflow deployments target, "
                "MLFLOW_DEPLOYMENTS_TARGET); drop them, or use openai:/ or azure:/ "
                "with proxy_url"
            )
        return DeploymentsChatClient(name, timeout=timeout)
    api_version = None
    if proxy_url:
        proxy_url, api_version = proxy_base(scheme, name, proxy_url)
    return OpenAIChatClient(
        scheme,
        name,
        timeout=timeout,
        extra_headers=extra_headers,
        proxy_url=proxy_url,
        api_version=api_version,
    )
