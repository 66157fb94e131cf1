"""Sending one request: the part of :class:`~.engine.ChatEngine` that puts one chat request
through the endpoint's shared slots, pacer and circuit breaker (:mod:`.endpoint`), calls the
client (``acomplete`` on the loop, else ``complete`` in the blocking executor), reports the
outcome back to the endpoint, counts it in the run's :class:`~.replies.Stats` and stamps a
failed request with its backoff (``exc.wait``). Retry and budget decisions stay in :mod:`.engine`.

    >>> _chars([{"content": "abc"}])
    3
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Mapping
from typing import Any

from mlflow_llm_eval.chat import adapt
from mlflow_llm_eval.chat.endpoint import EndpointState
from mlflow_llm_eval.chat.loop import blocking_executor
from mlflow_llm_eval.chat.replies import Stats
from mlflow_llm_eval.chat.types import CallError, ChatClient, Completion, Messages
from mlflow_llm_eval.core.repeats import RepeatedError

#: Hangul, kana and Han: about one token per character, where other text is about four
#: characters per token; such a character counts as four in the prompt-size estimate.
_WIDE = re.compile(
    "[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]"
)


def _chars(messages: Messages) -> int:
    """The prompt's size in English-equivalent characters (the pacer's estimate multiplies it by
    tokens per character, 1/4 until answers say): a CJK character counts as four.

        >>> _chars([{"content": "abcd"}, {"content": "한국어"}])
        16
    """
    total = 0
    for m in messages:
        content = m.get("content")
        if isinstance(content, str):
            total += (
                len(content)
                if content.isascii()
                else (len(content) + 3 * len(_WIDE.findall(content)))
            )
    return total


class RequestSender:
    """Mixin of :class:`~.engine.ChatEngine`: one request, sent and accounted for. The engine
    sets the attributes below (``__init__`` and the start of each run)."""

    client: ChatClient
    identity: str
    stats: Stats
    backoff_base: float
    backoff_max: float
    _stopping: bool
    requests_sent: int
    _sending: set[asyncio.Task[Any] | None]
    _slots: asyncio.Semaphore
    _state: EndpointState
    _max_tokens: float | None
    _abort: str | None
    _in_flight: int
    _same_error: RepeatedError

    def _host(self) -> str:
        return str(getattr(self.client, "host", None) or self.identity)

    async def _send(
        self, messages: Messages, parameters: Mapping[str, Any], attempt: int, repair: bool
    ) -> Completion:
        """One request through the endpoint's shared slots, pacing and breaker."""
        if self._stopping:
            raise CallError("request_error", "not sent: the run was interrupted", retryable=False)
        async with self._slots:
            chars = _chars(messages)
            state = self._state
            ticket = await state.acquire(chars, self._max_tokens)
            if ticket is None:
                self.stats.unavailable += 1
                raise CallError(
                    "endpoint_unavailable",
                    (
                        f"not sent: {self._host()} stopped answering ({state.breaker.threshold} "
                        f"timeouts or connection errors in a row, no answer in between; the last: "
                        f"{state.breaker.reason})"
                    ),
                    retryable=False,
                )
            if self._abort is not None:  # checked once a slot is free: nothing more is sent
                state.release(ticket, answered=False)
                raise CallError("request_error", f"not sent: {self._abort}", retryable=False)
            if self._stopping:
                state.release(ticket, answered=False)
                raise CallError(
                    "request_error", "not sent: the run was interrupted", retryable=False
                )
            self._in_flight += 1
            self.stats.peak_concurrency = max(self.stats.peak_concurrency, self._in_flight)
            outcome: dict[str, Any] = {"answered": False}
            task = asyncio.current_task()
            self._sending.add(task)
            self.requests_sent += 1  # handed to the client: no await since _stopping was read
            try:
                completion = await self._complete(messages, parameters)
                outcome = {
                    "answered": True,
                    "rate": completion.rate,
                    "prompt_chars": chars,
                    "prompt_tokens": completion.prompt_tokens,
                    "completion_tokens": completion.completion_tokens,
                }
                self._count(completion, repair)
                self._same_error.succeeded()
                return completion
            except CallError as exc:
                exc.wait = self._delay(attempt, exc.retry_after)  # type: ignore[attr-defined]
                outcome = {
                    "answered": not exc.unreachable,
                    "unreachable": exc.unreachable,
                    "failed": True,
                    "overloaded": exc.overloaded,
                    "rate": exc.rate,
                    "reason": str(exc),
                    "refused": exc.kind == "rate_limited",
                    "hold": exc.wait if exc.overloaded else 0.0,  # type: ignore[attr-defined]
                }
                self._count(None, repair)
                if not exc.retryable and adapt.refused_parameter(exc, parameters) is None:
                    self._note_client_error(str(exc))
                raise
            finally:
                self._sending.discard(task)
                self._in_flight -= 1
                state.release(ticket, **outcome)

    async def _complete(self, messages: Messages, parameters: Mapping[str, Any]) -> Completion:
        client = self.client
        try:
            if hasattr(client, "acomplete"):
                completion: Completion = await client.acomplete(messages, parameters)
                return completion
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(
                blocking_executor(), client.complete, messages, parameters
            )
        except (CallError, asyncio.CancelledError):
            raise
        except Exception as exc:  # noqa: BLE001 - a client's own failure is this row's status
            raise CallError(
                "error", f"{type(exc).__name__}: {exc}"[:500], retryable=False
            ) from None

    def _count(self, completion: Completion | None, repair: bool) -> None:
        self.stats.requests += 1
        self.stats.repairs += int(repair)
        if completion is not None:
            self.stats.prompt_tokens += completion.prompt_tokens
            self.stats.completion_tokens += completion.completion_tokens

    def _note_client_error(self, text: str) -> None:
        """The one "same error three times, stop" rule: identical non-retryable errors in a row."""
        if self._same_error.failed(text):
            self._abort = text

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """The server's Retry-After (plus up to 20% jitter) if given, else exponential backoff."""
        if retry_after is not None:
            return min(retry_after, self.backoff_max * 3) * random.uniform(1.0, 1.2)
        return random.uniform(0, min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1)))
