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
endpoint's host. The ``endpoints:/`` client lives in :mod:`.deployments`; reading an answer (its
text and usage, or the classified error) in :mod:`.answers`.

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
from collections.abc import Mapping
from typing import Any

from mlflow_llm_eval.chat.answers import completion_from_json, host_of, http_error
from mlflow_llm_eval.chat.deployments import DeploymentsChatClient
from mlflow_llm_eval.chat.schemes import SCHEMES
from mlflow_llm_eval.chat.types import CallError, ChatClient, Completion, Messages, RateInfo

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
        json_mode = self.json_mode and not asked
        if json_mode:
            body["response_format"] = {"type": "json_object"}
        try:
            answer, rate = await self.post_json(self._url, body)
        except CallError as exc:
            if (  # sent in JSON mode (another request in flight may have turned it off since)
                exc.status == 400
                and json_mode
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
