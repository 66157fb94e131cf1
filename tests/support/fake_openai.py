"""A local HTTP server speaking the OpenAI chat-completions protocol, for tests and benchmarks.

It listens on ``127.0.0.1`` on a free port, in a background thread (the plumbing shared by the
fake servers here: :mod:`local_server`), and answers ``POST .../chat/completions`` (any prefix: ``/v1``, Azure's
``/openai/deployments/<name>``) and MLflow deployments' ``POST /endpoints/<name>/invocations``.
The real ``openai`` client (or MLflow's ``requests`` calls) talk to it over HTTP.

    >>> import openai
    >>> with FakeOpenAI(scorer=lambda prompt: 4) as server:
    ...     client = openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0)
    ...     answer = client.chat.completions.create(
    ...         model="gpt-4o-mini", messages=[{"role": "user", "content": "grade this"}])
    ...     server.stats()["requests"], answer.choices[0].message.content
    (1, '{"score": 4, "justification": "scripted score 4"}')

What it can do (all settable at construction, and as attributes while it runs):

- ``scorer(prompt) -> score`` sets the score of a well-formed JSON answer (default: a stable
  hash of the prompt mapped to 1..5); ``responder(prompt) -> str`` replaces the whole answer
  text (e.g. to script a malformed or out-of-scale answer). ``prompt`` is the concatenated text
  of every message of the request.
- ``latency``: seconds slept before answering each request; ``latency_per_request_in_flight``
  adds that many seconds per other request in flight (a server that queues instead of refusing).
- ``faults``: a :class:`Faults` plan, fractions of requests answered with HTTP 429 (with a
  ``Retry-After`` header), HTTP 500, a garbage (non-JSON) answer, or a hang longer than the
  client's timeout. By default the fractions are exact over every 100 requests (the order
  within each block of 100 is shuffled with ``seed``): 10% 429 means 10 of each 100 requests.
- ``api_key``: when set, a request without that key gets HTTP 401.
- ``reasoning``: refuse parameters as OpenAI's reasoning models (o-series, gpt-5) do: HTTP 400
  to ``max_tokens`` (``"code": "unsupported_parameter"``, use ``max_completion_tokens``) and to
  a ``temperature`` other than 1 (``"code": "unsupported_value"``), the error body naming the
  ``param`` (:func:`reasoning_refusal`).
- ``max_concurrency``: a request arriving while this many are being served gets HTTP 429 at
  once (a provider's concurrency cap); ``max_requests_per_second``: a request arriving when
  that many were admitted within the last second gets HTTP 429 at once (a provider's rate
  limit). Rejected requests take no latency and do not count as in flight; they are logged
  with fault ``concurrency_cap`` / ``rate_cap`` and send the ``Retry-After`` of ``faults``,
  except a ``rate_cap`` that sends the seconds until the oldest admitted request leaves the
  one-second window.
- ``rpm`` / ``tpm``: a provider's requests / tokens per minute, enforced as OpenAI does: token
  buckets refilled continuously, holding ``rate_burst_seconds`` (default 1 s) of the rate; a
  request's token cost is the words of its prompt plus its ``max_tokens``. A request that does
  not fit gets HTTP 429 at once (fault ``rpm_cap`` / ``tpm_cap``) with ``Retry-After`` = when it
  would fit. Every answer then carries OpenAI's headers: ``x-ratelimit-limit-requests``,
  ``-remaining-requests``, ``-reset-requests`` (time until the bucket is full, e.g. ``"250ms"``)
  and the same for ``-tokens``.
- a request log (:attr:`requests`: one :class:`LoggedRequest` per request, with the parsed
  body, headers, status and fault) and counters (:meth:`stats`: requests, peak concurrency,
  statuses); :meth:`reset` clears them.
- control over HTTP, for a server run in another process (``python tests/support/fake_openai.py
  --latency 0.2 --rate-limit 0.1``, see :func:`main`): ``GET /_stats`` returns :meth:`stats`,
  ``POST /_reset`` (optional JSON body: :class:`Faults` fields) calls :meth:`reset`.
- ``usage`` in every answer: prompt tokens = words of the prompt, completion tokens = words of
  the answer, so token accounting can be checked exactly (:func:`word_count`).
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

try:  # imported as support.fake_openai (tests), or from tests/support itself (run as a script)
    from support.local_server import LocalServer, Reply, Request, not_found, serve
except ImportError:
    from local_server import (
        LocalServer,
        Reply,
        Request,
        not_found,
        serve,
    )  # run as a script: its folder is on sys.path

GARBAGE_ANSWER = "I am sorry, as a large language model I cannot grade this. <|endoftext|> ##"


def word_count(text: str) -> int:
    """The token count the server reports in ``usage`` for a text: its whitespace-split words."""
    return len(text.split())


def hashed_score(prompt: str, low: int = 1, high: int = 5) -> int:
    """The default scorer: a stable score in ``low..high`` derived from the prompt text."""
    digest = hashlib.sha256(prompt.encode("utf-8", "surrogatepass")).digest()
    return low + digest[0] % (high - low + 1)


@dataclass
class Faults:
    """Fractions of requests that fail, by kind; ``exact=True`` makes them exact per 100 requests."""

    rate_limit: float = 0.0
    server_error: float = 0.0
    garbage: float = 0.0
    timeout: float = 0.0
    retry_after: float = 0.05  # seconds, sent as Retry-After on 429
    hang_seconds: float = 5.0  # how long a "timeout" request sleeps before answering
    exact: bool = True
    seed: int = 0

    def schedule(self) -> Callable[[int], str | None]:
        """A function: request number -> fault kind (or None for a normal answer)."""
        kinds = [
            ("rate_limit", self.rate_limit),
            ("server_error", self.server_error),
            ("garbage", self.garbage),
            ("timeout", self.timeout),
        ]
        if sum(rate for _, rate in kinds) > 1.0:
            raise ValueError("fault fractions add up to more than 1")
        rng = random.Random(self.seed)
        if not self.exact:

            def draw(_: int) -> str | None:
                x = rng.random()
                for kind, rate in kinds:
                    if x < rate:
                        return kind
                    x -= rate
                return None

            return draw
        blocks: dict[int, list[str | None]] = {}

        def exact(n: int) -> str | None:
            block = blocks.get(n // 100)
            if block is None:
                block = [kind for kind, rate in kinds for _ in range(round(rate * 100))]
                block += [None] * (100 - len(block))
                rng.shuffle(block)
                blocks[n // 100] = block
            return block[n % 100]

        return exact


@dataclass
class LoggedRequest:
    """One request the server received."""

    path: str
    body: dict[str, Any]
    headers: dict[str, str]  # names lower-cased
    status: int = 0
    fault: str | None = None
    started: float = 0.0
    finished: float = 0.0
    delay: float = 0.0  # latency the server applied
    admitted: bool = False  # False: rejected by max_concurrency / max_requests_per_second
    retry_after: float | None = None  # sent on a 429 instead of ``faults.retry_after``
    rate_headers: dict[str, str] = field(default_factory=dict)  # x-ratelimit-* sent (rpm/tpm)
    sent: float = 0.0  # when the reply was written to the socket (0: not, or the client was gone)

    @property
    def prompt(self) -> str:
        """All message contents joined with blank lines (what the scorer sees)."""
        return prompt_text(self.body)


def prompt_text(body: dict[str, Any]) -> str:
    messages = body.get("messages") or []
    if not messages and "prompt" in body:
        return str(body["prompt"])
    return "\n\n".join(str(m.get("content", "")) for m in messages if isinstance(m, dict))


@dataclass
class FakeOpenAI(LocalServer):
    """The server; use as a context manager, or call :meth:`start` and :meth:`stop`."""

    thread_name = "fake-openai"

    scorer: Callable[[str], Any] = hashed_score
    responder: Callable[[str], str] | None = None
    latency: float = 0.0
    #: A server that queues: each other request in flight adds this many seconds of latency.
    latency_per_request_in_flight: float = 0.0
    faults: Faults = field(default_factory=Faults)
    max_concurrency: int | None = None
    #: A provider's rate limit: more than this many requests admitted within one second -> 429.
    max_requests_per_second: float | None = None
    model: str = "fake-judge"
    #: If set, requests must carry ``Authorization: Bearer <api_key>`` (or Azure's ``api-key``).
    api_key: str | None = None
    #: A provider's requests / tokens per minute (token buckets, headers on every answer).
    rpm: float | None = None
    tpm: float | None = None
    rate_burst_seconds: float = 1.0
    #: Refuse ``max_tokens`` and a non-default ``temperature`` as OpenAI's reasoning models do.
    reasoning: bool = False

    def __post_init__(self) -> None:
        self.requests: list[LoggedRequest] = []
        self._lock = threading.Lock()
        self._in_flight = 0
        self._peak = 0
        self._count = 0
        self._admitted: deque[float] = deque()  # start times of admitted requests, last second
        self._buckets: dict[str, list[float]] = {}  # "requests"/"tokens" -> [level, stamp]
        self._fault_of = self.faults.schedule()

    # -- observation ---------------------------------------------------------------------------
    def reset(self, faults: Faults | None = None) -> None:
        """Clear the log and counters (and optionally install a new fault plan)."""
        with self._lock:
            self.requests.clear()
            self._count = 0
            self._peak = self._in_flight
            self._buckets.clear()
            if faults is not None:
                self.faults = faults
            self._fault_of = self.faults.schedule()

    def reset_over_http(self, body: Any) -> None:
        self.reset(Faults(**body) if body else None)

    def stats(self) -> dict[str, Any]:
        """``requests``, ``peak_concurrency`` (most requests served at once), ``statuses`` (HTTP
        status -> count), ``faults`` (fault kind -> count)."""
        with self._lock:
            return {
                "requests": len(self.requests),
                "peak_concurrency": self._peak,
                "statuses": dict(Counter(r.status for r in self.requests)),
                "faults": dict(Counter(r.fault for r in self.requests if r.fault)),
            }

    # -- behaviour -----------------------------------------------------------------------------
    def _answer_text(self, prompt: str) -> str:
        if self.responder is not None:
            return self.responder(prompt)
        score = self.scorer(prompt)
        return json.dumps({"score": score, "justification": f"scripted score {score}"})

    def _begin(self, log: LoggedRequest) -> str | None:
        """Log the request; its fault kind (``concurrency_cap``/``rate_cap`` if rejected)."""
        with self._lock:
            self.requests.append(log)
            if self.max_concurrency is not None and self._in_flight >= self.max_concurrency:
                return "concurrency_cap"
            if self.max_requests_per_second is not None:
                while self._admitted and self._admitted[0] <= log.started - 1.0:
                    self._admitted.popleft()
                if len(self._admitted) >= self.max_requests_per_second:
                    log.retry_after = self._admitted[0] + 1.0 - log.started  # when one frees
                    return "rate_cap"
                self._admitted.append(log.started)
            refused = self._take_rate(log)
            if refused is not None:
                return refused
            fault = self._fault_of(self._count)
            self._count += 1
            log.delay = self.latency + self.latency_per_request_in_flight * self._in_flight
            log.admitted = True
            self._in_flight += 1
            self._peak = max(self._peak, self._in_flight)
        return fault

    def _bucket(self, kind: str, per_minute: float, now: float) -> list[float]:
        capacity = per_minute / 60.0 * self.rate_burst_seconds
        bucket = self._buckets.setdefault(kind, [capacity, now])
        bucket[0] = min(capacity, bucket[0] + (now - bucket[1]) * per_minute / 60.0)
        bucket[1] = now
        return bucket

    def _take_rate(self, log: LoggedRequest) -> str | None:
        """Charge the rpm/tpm buckets (under the lock); the fault if the request does not fit."""
        limits = [("requests", self.rpm, 1.0)]
        max_tokens = log.body.get("max_tokens") or log.body.get("max_completion_tokens") or 0
        limits.append(("tokens", self.tpm, word_count(log.prompt) + float(max_tokens)))
        now = log.started
        headers: dict[str, str] = {}
        refused, wait = None, 0.0
        levels = {}
        for kind, per_minute, cost in limits:
            if not per_minute:
                continue
            bucket = self._bucket(kind, per_minute, now)
            levels[kind] = (bucket, per_minute, cost)
            if bucket[0] < cost:
                refused = refused or f"{'rpm' if kind == 'requests' else 'tpm'}_cap"
                wait = max(wait, (cost - bucket[0]) / (per_minute / 60.0))
        for kind, (bucket, per_minute, cost) in levels.items():
            if refused is None:
                bucket[0] -= cost
            capacity = per_minute / 60.0 * self.rate_burst_seconds
            to_full = (capacity - bucket[0]) / (per_minute / 60.0)
            headers[f"x-ratelimit-limit-{kind}"] = f"{per_minute:g}"
            headers[f"x-ratelimit-remaining-{kind}"] = str(max(0, int(bucket[0])))
            headers[f"x-ratelimit-reset-{kind}"] = (
                f"{to_full * 1000:.0f}ms" if to_full < 1 else f"{to_full:.3f}s"
            )
        log.rate_headers = headers
        if refused is not None:
            log.retry_after = max(wait, 0.001)
        return refused

    def _end(self, log: LoggedRequest) -> None:
        with self._lock:
            self._in_flight -= int(log.admitted)

    # -- HTTP ----------------------------------------------------------------------------------
    def answer(self, request: Request) -> Reply:
        """One chat request: logged, checked against the limits, faults and key, answered."""
        path = request.route
        if not (path.endswith("/chat/completions") or path.endswith("/invocations")):
            return not_found(request)
        log = LoggedRequest(
            path=request.path,
            body=request.body,
            headers=request.headers,
            started=time.perf_counter(),
        )
        fault = self._begin(log)
        try:  # the log is finished before the answer leaves: the client may send again at once
            reply = self._reply(log, request, fault)
            reply.on_sent = lambda: setattr(log, "sent", time.perf_counter())
            return reply
        finally:
            log.finished = time.perf_counter()
            self._end(log)

    def _reply(self, log: LoggedRequest, request: Request, fault: str | None) -> Reply:
        headers, body = request.headers, request.body
        if self.api_key is not None and self.api_key not in (
            headers.get("authorization", "").removeprefix("Bearer "),
            headers.get("api-key"),
        ):
            log.status = 401
            return Reply(
                401,
                {
                    "error": {
                        "message": "Incorrect API key provided",
                        "type": "invalid_request_error",
                        "code": "invalid_api_key",
                    }
                },
            )
        refusal = reasoning_refusal(body) if self.reasoning else None
        if refusal is not None:
            log.status, log.fault = 400, "unsupported_parameter"
            return Reply(400, refusal)
        log.fault = fault
        if fault == "timeout":
            time.sleep(self.faults.hang_seconds)
        elif log.delay:
            time.sleep(log.delay)
        if fault in ("rate_limit", "concurrency_cap", "rate_cap", "rpm_cap", "tpm_cap"):
            log.status = 429
            return Reply(
                429,
                {
                    "error": {
                        "message": "Rate limit reached",
                        "type": "requests",
                        "code": "rate_limit_exceeded",
                    }
                },
                {
                    "Retry-After": f"{log.retry_after or self.faults.retry_after:.3g}",
                    **log.rate_headers,
                },
            )
        if fault == "server_error":
            log.status = 500
            return Reply(
                500,
                {"error": {"message": "The server had an error", "type": "server_error"}},
                log.rate_headers,
            )
        prompt = prompt_text(body)
        content = GARBAGE_ANSWER if fault == "garbage" else self._answer_text(prompt)
        log.status = 200
        return Reply(
            200,
            {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", self.model),
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": content},
                    }
                ],
                "usage": {
                    "prompt_tokens": word_count(prompt),
                    "completion_tokens": word_count(content),
                    "total_tokens": word_count(prompt) + word_count(content),
                },
            },
            log.rate_headers,
        )


def reasoning_refusal(body: dict[str, Any]) -> dict[str, Any] | None:
    """OpenAI's 400 body for a reasoning model sent ``max_tokens`` or a non-default
    ``temperature`` (the messages and codes OpenAI sends), else None."""
    if "max_tokens" in body:
        return {
            "error": {
                "message": "Unsupported parameter: 'max_tokens' is not supported with this model. "
                "Use 'max_completion_tokens' instead.",
                "type": "invalid_request_error",
                "param": "max_tokens",
                "code": "unsupported_parameter",
            }
        }
    if "temperature" in body and body["temperature"] != 1:
        return {
            "error": {
                "message": f"Unsupported value: 'temperature' does not support {body['temperature']} "
                "with this model. Only the default (1) value is supported.",
                "type": "invalid_request_error",
                "param": "temperature",
                "code": "unsupported_value",
            }
        }
    return None


def main(
    argv: list[str] | None = None,
    *,
    responder: Callable[[str], str] | None = None,
    description: str | None = None,
) -> None:
    """Run the server in the foreground; prints ``base_url`` on its first line of stdout."""
    import argparse

    parser = argparse.ArgumentParser(description=description or __doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--latency-per-request-in-flight", type=float, default=0.0)
    parser.add_argument("--rate-limit", type=float, default=0.0)
    parser.add_argument("--server-error", type=float, default=0.0)
    parser.add_argument("--garbage", type=float, default=0.0)
    parser.add_argument("--timeout", type=float, default=0.0)
    parser.add_argument("--retry-after", type=float, default=0.05)
    parser.add_argument("--max-concurrency", type=int, default=None)
    parser.add_argument("--max-requests-per-second", type=float, default=None)
    parser.add_argument("--rpm", type=float, default=None)
    parser.add_argument("--tpm", type=float, default=None)
    parser.add_argument("--rate-burst-seconds", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    faults = Faults(
        rate_limit=args.rate_limit,
        server_error=args.server_error,
        garbage=args.garbage,
        timeout=args.timeout,
        retry_after=args.retry_after,
        seed=args.seed,
    )
    serve(
        FakeOpenAI(
            latency=args.latency,
            faults=faults,
            max_concurrency=args.max_concurrency,
            max_requests_per_second=args.max_requests_per_second,
            latency_per_request_in_flight=args.latency_per_request_in_flight,
            rpm=args.rpm,
            tpm=args.tpm,
            rate_burst_seconds=args.rate_burst_seconds,
            responder=responder,
        )
    )


if __name__ == "__main__":
    main()
