"""Reading a chat endpoint's answer, shared by every client (:mod:`.endpoints`,
:mod:`.deployments`): the text and token usage of a chat-completions JSON answer, the classified
:class:`~mlflow_llm_eval.chat.types.CallError` of an HTTP error answer (by its status, with the
body's message, ``param`` and ``code``), and the ``host[:port]`` that error reasons name.

    >>> host_of("https://user:secret@gw.corp:8443/v1")
    'gw.corp:8443'
    >>> completion_from_json({"choices": [{"message": {"content": "4"}}]}).text
    '4'
    >>> error = http_error(429, "gw.corp", b'{"error": {"message": "slow down"}}', None)
    >>> error.kind, str(error)
    ('rate_limited', 'HTTP 429 from gw.corp: slow down')
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from mlflow_llm_eval.chat.types import CallError, Completion, RateInfo, classify_status


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
