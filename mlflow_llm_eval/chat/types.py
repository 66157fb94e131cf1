"""What a chat request gives back: an answer (:class:`Completion`) or a classified failure
(:class:`CallError`), each with the rate-limit state the endpoint reported (:class:`RateInfo`).

    >>> info = RateInfo.from_headers({"x-ratelimit-limit-requests": "500",
    ...     "x-ratelimit-remaining-requests": "499", "x-ratelimit-reset-requests": "120ms",
    ...     "x-ratelimit-remaining-tokens": "29000", "x-ratelimit-reset-tokens": "1m2s"})
    >>> info.limit_requests, info.remaining_requests, info.reset_requests, info.reset_tokens
    (500.0, 499.0, 0.12, 62.0)
    >>> parse_duration("6m0s"), parse_duration("1.5"), parse_duration("soon")
    (360.0, 1.5, None)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

Messages = list[dict[str, Any]]

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_SCALE = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_duration(value: Any) -> float | None:
    """Seconds of an OpenAI reset header (``"1s"``, ``"6m0s"``, ``"20ms"``) or a plain number."""
    if value is None:
        return None
    text = str(value).strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text.replace(" ", ""):
        return None
    return sum(float(n) * _SCALE[u] for n, u in parts)


def _number(headers: Mapping[str, Any], name: str) -> float | None:
    try:
        value = headers.get(name)
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class RateInfo:
    """The ``x-ratelimit-*`` and ``Retry-After`` headers of one answer (OpenAI, Azure OpenAI)."""

    limit_requests: float | None = None  # per minute
    remaining_requests: float | None = None
    reset_requests: float | None = None  # seconds
    limit_tokens: float | None = None  # per minute
    remaining_tokens: float | None = None
    reset_tokens: float | None = None
    retry_after: float | None = None

    @classmethod
    def from_headers(cls, headers: Any) -> RateInfo | None:
        """None when the answer carries none of those headers."""
        if headers is None:
            return None
        try:
            get = headers.get
        except AttributeError:
            return None
        retry = _number(headers, "retry-after-ms")
        retry = retry / 1000.0 if retry is not None else _number(headers, "retry-after")
        info = cls(
            _number(headers, "x-ratelimit-limit-requests"),
            _number(headers, "x-ratelimit-remaining-requests"),
            parse_duration(get("x-ratelimit-reset-requests")),
            _number(headers, "x-ratelimit-limit-tokens"),
            _number(headers, "x-ratelimit-remaining-tokens"),
            parse_duration(get("x-ratelimit-reset-tokens")),
            None if retry is None else max(0.0, retry),
        )
        return None if info == cls() else info


@dataclass(frozen=True)
class Completion:
    """One answer: its text (None when the answer had none), token usage, rate-limit headers."""

    text: str | None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    rate: RateInfo | None = None


class CallError(Exception):
    """A failed request, classified: ``kind`` is the row status it leads to if it persists.

    ``overloaded`` marks the endpoint's "slow down" signals (429, 503, 529, timeouts);
    ``unreachable`` the ones a circuit breaker counts (timeouts, connection errors).
    """

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        retry_after: float | None = None,
        retryable: bool = True,
        overloaded: bool | None = None,
        unreachable: bool | None = None,
        rate: RateInfo | None = None,
    ) -> None:
        super().__init__(message)
        self.kind, self.retry_after, self.retryable, self.rate = kind, retry_after, retryable, rate
        if retry_after is None and rate is not None:
            self.retry_after = rate.retry_after
        self.overloaded = kind in ("rate_limited", "timeout") if overloaded is None else overloaded
        self.unreachable = kind == "timeout" if unreachable is None else unreachable
        #: The HTTP status when the endpoint answered one (None: no answer).
        self.status: int | None = None
        #: The error body's ``param`` and ``code`` (OpenAI's shape), when it names them.
        self.param: str | None = None
        self.code: str | None = None


class ChatClient(Protocol):
    """An endpoint. ``complete`` (blocking) is required; an ``async def acomplete`` with the same
    arguments, when present, is used instead (no thread per request)."""

    #: Endpoint identity (cache keys, shared limits): scheme, base URL and model, never a secret.
    identity: str
    json_mode: bool

    def complete(self, messages: Messages, parameters: Mapping[str, Any]) -> Completion:
        """One chat completion; raises :class:`CallError`."""


def classify_status(
    status: int, message: str, retry_after: float | None = None, rate: RateInfo | None = None
) -> CallError:
    """Map an HTTP status to a :class:`CallError`."""
    if status == 429:
        return CallError("rate_limited", message, retry_after=retry_after, rate=rate)
    if status in (408, 504):
        return CallError("timeout", message, retry_after=retry_after, rate=rate)
    if status >= 500:
        return CallError(
            "server_error",
            message,
            retry_after=retry_after,
            rate=rate,
            overloaded=status in (503, 529),
            unreachable=False,
        )
    return CallError("request_error", message, retryable=False, rate=rate)
