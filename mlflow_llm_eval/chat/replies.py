"""What the request engine gives back per row: a :class:`Reply` (value, or status and
reason), the run's :class:`Stats`, and :class:`Unusable`, raised by a ``check``.

    >>> Reply(value=3).status, Stats().requests
    ('ok', 0)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlflow_llm_eval.chat.types import Completion, Messages

#: Row statuses of the engine (with the row's reason saying more).
STATUSES: dict[str, str] = {
    "rate_limited": "the endpoint kept answering HTTP 429 until the row's attempts or the run's "
    "retry budget ran out",
    "timeout": "no answer within the per-request timeout, on every attempt",
    "server_error": "HTTP 5xx or a connection error, on every attempt",
    "request_error": "HTTP 4xx other than 429 (bad key, unknown model, prompt too long); not "
    "retried, and after three identical ones the remaining rows are not sent",
    "endpoint_unavailable": "not sent: the endpoint stopped answering (consecutive timeouts or "
    "connection errors tripped the circuit breaker); re-run to resume",
    "deadline_exceeded": "not answered before the run's deadline; re-run to resume",
}


class Unusable(Exception):
    """Raised by a ``check``: the answer cannot be used; ``follow_up`` is the conversation to
    send once instead (e.g. a repair request)."""

    def __init__(self, reason: str, follow_up: Messages | None = None) -> None:
        super().__init__(reason)
        self.reason, self.follow_up = reason, follow_up


@dataclass
class Reply:
    """One row's result: the checked value, or a status and its reason."""

    value: Any = None
    status: str = "ok"
    reason: str | None = None
    completion: Completion | None = None
    unusable: list[str | None] = field(default_factory=list)  # texts that failed the check
    gave_up: str | None = None
    cached: bool = False


@dataclass
class Stats:
    requests: int = 0
    retries: int = 0
    waits: int = 0  # of the retries: resends after a 429 with Retry-After (own budget)
    repairs: int = 0  # follow-up requests
    prompt_tokens: int = 0
    completion_tokens: int = 0
    peak_concurrency: int = 0
    cache_hits: int = 0
    refused: int = 0  # HTTP 429 answers
    unavailable: int = 0
    deadline_exceeded: int = 0
