"""A local server speaking the OpenAI *completions* protocol with prompt log-probs (vLLM's ``echo``).

``POST .../completions`` with ``echo: true`` and ``logprobs: N`` answers as vLLM does: the
echoed prompt followed by ``max_tokens`` generated tokens, and in ``choices[0].logprobs`` one
entry per token (``tokens``, ``token_logprobs``, ``text_offset``, ``top_logprobs``); the first
prompt token has no log-prob (``None``: nothing precedes it); ``usage.prompt_tokens`` counts the
prompt's tokens. Standard library only (with the shared plumbing, :mod:`local_server`), so
FMEval's environment (tests/fmeval/make_reference.py) can import it too.

The "language model" is a toy: tokens are a word with its leading whitespace
(:func:`tokenize`), and each token's log-prob is :func:`token_logprob` (a stable hash of the
token and the one before it). The real ``openai`` client talks to it over HTTP:

    >>> import openai
    >>> with FakeCompletions() as server:
    ...     client = openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0)
    ...     answer = client.completions.create(model="toy", prompt="a b", echo=True, logprobs=1,
    ...                                        max_tokens=1)
    ...     answer.choices[0].logprobs.tokens, answer.choices[0].logprobs.token_logprobs[0]
    (['a', ' b', ' .'], None)
    >>> sentence_logprob("a b") == token_logprob("a", " b")
    True

Options (attributes, settable while it runs): ``rate_limit_first``: the first N requests get
HTTP 429 with ``Retry-After: 0.01``; ``drop_logprobs``: answer without ``logprobs`` (a server
that ignores ``echo``). :attr:`requests` logs every request body.
"""

from __future__ import annotations

import hashlib
import re
import threading
from typing import Any

try:  # imported as support.fake_completions (tests), or from tests/support itself
    from support.local_server import LocalServer, Reply, Request, not_found
except ImportError:
    from local_server import (
        LocalServer,
        Reply,
        Request,
        not_found,
    )  # run as a script: its folder is on sys.path

_TOKEN = re.compile(r"\s*\S+|\s+$")
GENERATED = " ."


def tokenize(text: str) -> list[str]:
    """Words with their leading whitespace (GPT-2 style); a trailing space is its own token."""
    return _TOKEN.findall(text)


def token_logprob(previous: str, token: str) -> float:
    """The toy model's log p(token | previous token): a stable value in [-6.0, -0.1]."""
    digest = hashlib.sha256(f"{previous}\x00{token}".encode("utf-8", "surrogatepass")).digest()
    return -0.1 - (int.from_bytes(digest[:4], "big") % 5901) / 1000.0


def prompt_logprobs(text: str) -> list[float | None]:
    """Per-token log-probs of ``text`` as the server reports them (first token: None)."""
    tokens = tokenize(text)
    return [None] + [token_logprob(p, t) for p, t in zip(tokens, tokens[1:])]


def sentence_logprob(text: str) -> float:
    """The sum of the scored prompt tokens' log-probs (what FMEval's extractors sum)."""
    return float(sum(v for v in prompt_logprobs(text) if v is not None))


def completion_body(request: dict[str, Any], drop_logprobs: bool = False) -> dict[str, Any]:
    """The JSON answer to one completions request."""
    prompt = str(request.get("prompt", ""))
    tokens = tokenize(prompt) if request.get("echo") else []
    values: list[float | None] = prompt_logprobs(prompt) if request.get("echo") else []
    generated = int(request.get("max_tokens") or 0)
    last = tokens[-1] if tokens else ""
    for _ in range(generated):
        values.append(token_logprob(last, GENERATED))
        tokens.append(GENERATED)
        last = GENERATED
    offsets, position = [], 0
    for token in tokens:
        offsets.append(position)
        position += len(token)
    logprobs = None
    if request.get("logprobs") is not None and not drop_logprobs:
        logprobs = {
            "tokens": tokens,
            "token_logprobs": values,
            "text_offset": offsets,
            "top_logprobs": [None if v is None else {t: v} for t, v in zip(tokens, values)],
        }
    text = "".join(tokens) if request.get("echo") else GENERATED * generated
    return {
        "id": "cmpl-fake",
        "object": "text_completion",
        "created": 0,
        "model": request.get("model", "toy"),
        "choices": [{"index": 0, "text": text, "logprobs": logprobs, "finish_reason": "length"}],
        "usage": {
            "prompt_tokens": len(tokenize(prompt)),
            "completion_tokens": generated,
            "total_tokens": len(tokenize(prompt)) + generated,
        },
    }


class FakeCompletions(LocalServer):
    """The server; a context manager (``with FakeCompletions() as server: server.base_url``)."""

    thread_name = "fake-completions"

    def __init__(self, *, rate_limit_first: int = 0, drop_logprobs: bool = False) -> None:
        self.rate_limit_first, self.drop_logprobs = rate_limit_first, drop_logprobs
        self.requests: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.statuses.clear()

    def answer(self, request: Request) -> Reply:
        if not request.route.endswith("/completions"):
            return not_found(request)
        body = request.body
        with self._lock:
            self.requests.append(body)
            refused = len(self.requests) <= self.rate_limit_first
            status = 429 if refused else 200
            self.statuses.append(status)
        if refused:
            return Reply(
                429,
                {"error": {"message": "Rate limit reached", "code": "rate_limit_exceeded"}},
                {"Retry-After": "0.01"},
            )
        return Reply(200, completion_body(body, self.drop_logprobs))
