"""Judge endpoints: ``openai:/<model>``, ``azure:/<deployment>`` and ``endpoints:/<name>``.

- ``openai:/gpt-4o-mini`` uses ``OPENAI_API_KEY`` and, for any OpenAI-compatible server (vLLM,
  Ollama, a proxy), ``OPENAI_API_BASE`` or ``OPENAI_BASE_URL`` (MLflow's order), or ``proxy_url``.
- ``azure:/<deployment>`` uses ``AZURE_OPENAI_API_KEY`` (or MLflow's ``AZURE_API_KEY``),
  ``AZURE_OPENAI_ENDPOINT`` (or ``AZURE_API_BASE``) and ``OPENAI_API_VERSION`` (or
  ``AZURE_API_VERSION``).
- ``endpoints:/<name>`` goes through ``mlflow.deployments`` (Databricks serving, MLflow AI
  gateway; target from ``MLFLOW_DEPLOYMENTS_TARGET``).

Checks happen when the client is built (a missing key or an unknown scheme is an error before any
row is sent); the ``openai`` / ``mlflow`` modules are imported only then. Keys are read from the
environment and kept only inside the HTTP client: never in :attr:`JudgeClient.identity`, reprs,
errors or logs.

    >>> parse_model_uri("openai:/gpt-4o-mini")
    ('openai', 'gpt-4o-mini')
    >>> parse_model_uri("gpt-4")
    Traceback (most recent call last):
    ...
    ValueError: judge model 'gpt-4' must look like '<scheme>:/<model>', e.g. 'openai:/gpt-4o-mini'; schemes: azure, endpoints, openai
"""

from __future__ import annotations

import os
import threading
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

SCHEMES = ("azure", "endpoints", "openai")
DEFAULT_AZURE_API_VERSION = "2024-06-01"


@dataclass(frozen=True)
class Completion:
    text: str | None
    prompt_tokens: int = 0
    completion_tokens: int = 0


class JudgeCallError(Exception):
    """A failed request, classified: ``kind`` is the row status it leads to if it persists.

    ``overloaded`` marks the endpoint's "slow down" signals (429, 503, 529, timeouts) that make
    the engine lower its concurrency.
    """

    def __init__(self, kind: str, message: str, *, retry_after: float | None = None,
                 retryable: bool = True, overloaded: bool | None = None) -> None:
        super().__init__(message)
        self.kind, self.retry_after, self.retryable = kind, retry_after, retryable
        self.overloaded = kind in ("rate_limited", "timeout") if overloaded is None else overloaded


class JudgeClient(Protocol):
    #: Endpoint identity for cache keys: scheme, base URL and model, never a secret.
    identity: str
    json_mode: bool

    def complete(self, messages: list[dict[str, Any]], parameters: Mapping[str, Any]) -> Completion:
        """One chat completion; raises :class:`JudgeCallError`."""


def parse_model_uri(model: str) -> tuple[str, str]:
    scheme, sep, name = str(model).partition(":/")
    name = name.lstrip("/")
    if not sep or not scheme or not name:
        raise ValueError(f"judge model '{model}' must look like '<scheme>:/<model>', e.g. "
                         f"'openai:/gpt-4o-mini'; schemes: {', '.join(SCHEMES)}")
    if scheme not in SCHEMES:
        raise ValueError(f"judge model '{model}': unknown scheme '{scheme}'; use one of "
                         f"{', '.join(f'{s}:/' for s in SCHEMES)}")
    return scheme, name


def _env(*names: str) -> str | None:
    for name in names:
        if os.environ.get(name):
            return os.environ[name]
    return None


def _retry_after(headers: Any) -> float | None:
    try:
        value = headers.get("retry-after-ms")
        if value is not None:
            return float(value) / 1000.0
        value = headers.get("retry-after")
        return None if value is None else max(0.0, float(value))
    except (TypeError, ValueError, AttributeError):
        return None


def classify_status(status: int, message: str, retry_after: float | None = None) -> JudgeCallError:
    """Map an HTTP status to a :class:`JudgeCallError`."""
    if status == 429:
        return JudgeCallError("rate_limited", message, retry_after=retry_after)
    if status in (408, 504):
        return JudgeCallError("timeout", message, retry_after=retry_after)
    if status >= 500:
        return JudgeCallError("server_error", message, retry_after=retry_after,
                              overloaded=status in (503, 529))
    return JudgeCallError("request_error", message, retryable=False)


class OpenAIJudgeClient:
    """OpenAI or Azure OpenAI through the ``openai`` client (its own retries off: ours count)."""

    json_mode = True

    def __init__(self, scheme: str, model: str, *, timeout: float,
                 extra_headers: Mapping[str, str] | None = None, proxy_url: str | None = None):
        self.scheme, self.model, self.timeout = scheme, model, float(timeout)
        self._headers = dict(extra_headers or {})
        self._client: Any = None
        self._lock = threading.Lock()
        if scheme == "openai":
            if not _env("OPENAI_API_KEY"):
                raise ValueError(
                    "judge 'openai:/" + model + "' needs an API key: set OPENAI_API_KEY (for a local "
                    "OpenAI-compatible server without keys, any non-empty value)")
            base = proxy_url or _env("OPENAI_API_BASE", "OPENAI_BASE_URL") or "https://api.openai.com/v1"
            self.base_url = base.rstrip("/").removesuffix("/chat/completions")
        else:
            missing = [n for n, v in (("AZURE_OPENAI_API_KEY", _env("AZURE_OPENAI_API_KEY", "AZURE_API_KEY")),
                                      ("AZURE_OPENAI_ENDPOINT", proxy_url or _env("AZURE_OPENAI_ENDPOINT", "AZURE_API_BASE")))
                       if not v]
            if missing:
                raise ValueError(f"judge 'azure:/{model}' needs {' and '.join(missing)} "
                                 "(or MLflow's AZURE_API_KEY / AZURE_API_BASE)")
            self.base_url = (proxy_url or _env("AZURE_OPENAI_ENDPOINT", "AZURE_API_BASE")).rstrip("/")
            self.api_version = _env("OPENAI_API_VERSION", "AZURE_API_VERSION") or DEFAULT_AZURE_API_VERSION
        self.identity = f"{scheme}|{self.base_url}|{model}"

    def __repr__(self) -> str:
        return f"OpenAIJudgeClient({self.scheme}:/{self.model}, base_url={self.base_url!r})"

    def _openai(self) -> Any:
        with self._lock:
            if self._client is None:
                import openai

                common = dict(timeout=self.timeout, max_retries=0, default_headers=self._headers)
                if self.scheme == "openai":
                    self._client = openai.OpenAI(api_key=_env("OPENAI_API_KEY"),
                                                 base_url=self.base_url, **common)
                else:
                    self._client = openai.AzureOpenAI(
                        api_key=_env("AZURE_OPENAI_API_KEY", "AZURE_API_KEY"),
                        azure_endpoint=self.base_url, api_version=self.api_version, **common)
            return self._client

    def complete(self, messages: list[dict[str, Any]], parameters: Mapping[str, Any]) -> Completion:
        import openai

        client = self._openai()
        body: dict[str, Any] = {"model": self.model, "messages": messages, **dict(parameters)}
        if self.json_mode:
            body["response_format"] = {"type": "json_object"}
        try:
            # The client's plain POST (its documented way to send a raw body): same auth, URL,
            # Azure deployment routing and errors as chat.completions.create, a third of the CPU
            # per request (no typed request/response models), which matters at 64+ in flight.
            response = client.post("/chat/completions", body=body, cast_to=object)
        except openai.APITimeoutError:
            raise JudgeCallError("timeout", f"no answer within {self.timeout:g} s") from None
        except openai.APIStatusError as exc:
            if exc.status_code == 400 and self.json_mode and "response_format" in str(exc.message):
                self.json_mode = False  # an OpenAI-compatible server without JSON mode
                return self.complete(messages, parameters)
            raise classify_status(exc.status_code, f"HTTP {exc.status_code}: {exc.message}"[:500],
                                  _retry_after(exc.response.headers)) from None
        except openai.APIConnectionError as exc:
            raise JudgeCallError("server_error", f"connection error: {exc.message}"[:500]) from None
        return completion_from_json(response)


def completion_from_json(response: Any) -> Completion:
    """Text and token usage of a chat-completions JSON answer (any malformed part -> None/0)."""
    if not isinstance(response, Mapping):
        return Completion(None)
    choices = response.get("choices") or [{}]
    message = choices[0].get("message") if isinstance(choices[0], Mapping) else None
    text = message.get("content") if isinstance(message, Mapping) else None
    usage = response.get("usage") if isinstance(response.get("usage"), Mapping) else {}
    return Completion(text if isinstance(text, str) else None,
                      int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))


class DeploymentsJudgeClient:
    """``endpoints:/<name>`` through ``mlflow.deployments`` (imported here, lazily)."""

    json_mode = False

    def __init__(self, name: str, *, timeout: float) -> None:
        from mlflow.deployments import get_deploy_client

        self.name, self.timeout = name, timeout
        self._client = get_deploy_client()
        if self._client is None:
            raise ValueError(f"judge 'endpoints:/{name}' needs an MLflow deployments target: set "
                             "MLFLOW_DEPLOYMENTS_TARGET (e.g. 'databricks' or the gateway URL)")
        self.identity = f"endpoints|{getattr(self._client, 'target_uri', '')}|{name}"

    def __repr__(self) -> str:
        return f"DeploymentsJudgeClient(endpoints:/{self.name})"

    def complete(self, messages: list[dict[str, Any]], parameters: Mapping[str, Any]) -> Completion:
        try:
            response = self._client.predict(endpoint=self.name,
                                            inputs={"messages": messages, **dict(parameters)})
        except Exception as exc:  # noqa: BLE001 - MLflow wraps HTTP errors in several ways
            raise _classify_deployment_error(exc) from None
        return completion_from_json(response)


def _classify_deployment_error(exc: BaseException) -> JudgeCallError:
    seen: BaseException | None = exc
    while seen is not None:
        response = getattr(seen, "response", None)
        status = getattr(response, "status_code", None)
        if isinstance(status, int):
            return classify_status(status, f"HTTP {status}: {type(exc).__name__}"[:500],
                                   _retry_after(getattr(response, "headers", {})))
        if "Timeout" in type(seen).__name__ or "timed out" in str(seen):
            return JudgeCallError("timeout", f"{type(seen).__name__}")
        seen = seen.__cause__ or seen.__context__
    text = str(exc)
    for status in (429, 500, 502, 503, 504):
        if f"{status}" in text:
            return classify_status(status, text[:500])
    return JudgeCallError("request_error", text[:500], retryable=False)


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
    suffix = f"/openai/deployments/{model}/chat/completions" if scheme == "azure" else "/chat/completions"
    query = urllib.parse.parse_qs(parsed.query)
    extra_query = set(query) - ({"api-version"} if scheme == "azure" else set())
    if parsed.scheme not in ("http", "https") or not parsed.netloc or not path.endswith(suffix) \
            or extra_query or parsed.fragment:
        raise ValueError(
            f"proxy_url {proxy_url!r}: for '{scheme}:/{model}' it must be the full URL the chat "
            f"requests are posted to, as in MLflow: http(s)://<host>[/<prefix>]{suffix}"
            + ("[?api-version=<version>]" if scheme == "azure" else "")
            + " (requests are sent nowhere else; to point at an OpenAI-compatible base URL set "
              "OPENAI_BASE_URL instead)")
    base = urllib.parse.urlunsplit((parsed.scheme, parsed.netloc, path[: -len(suffix)], "", ""))
    return base, (query.get("api-version") or [None])[0]


def make_client(model: str, *, timeout: float, extra_headers: Mapping[str, str] | None = None,
                proxy_url: str | None = None) -> JudgeClient:
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
            raise ValueError(f"judge '{model}': {' and '.join(given)} cannot be used with "
                             "endpoints:/ (requests go to the MLflow deployments target, "
                             "MLFLOW_DEPLOYMENTS_TARGET); drop them, or use openai:/ or azure:/ "
                             "with proxy_url")
        return DeploymentsJudgeClient(name, timeout=timeout)
    api_version = None
    if proxy_url:
        proxy_url, api_version = proxy_base(scheme, name, proxy_url)
    client = OpenAIJudgeClient(scheme, name, timeout=timeout, extra_headers=extra_headers,
                               proxy_url=proxy_url)
    if api_version is not None:
        client.api_version = api_version
    return client
