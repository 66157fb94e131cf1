"""Answers made durable as they arrive: what the request engine hands to an answer cache.

The engine knows nothing of what the cache is (the judges' sqlite file,
:class:`mlflow_llm_eval.judge.cache.JudgeCache`, or anything with ``get_many``/``put_many``); it
stores :class:`CachedAnswer` values through an :class:`AnswerWriter`, which bounds how long an
answer the process has received may wait in memory: it is written when the caller has nothing
else to do (the engine flushes after every batch it takes from the request loop), and in any
case once ``max_batch`` answers (64) are waiting or the oldest has waited ``max_delay`` seconds
(0.5). A ``kill -9`` then loses at most the answers of the last write.

    >>> class Memory:
    ...     def __init__(self): self.writes = []
    ...     def put_many(self, items): self.writes.append([key for key, _ in items])
    >>> now = [0.0]
    >>> writer = AnswerWriter(Memory(), max_batch=3, max_delay=0.5, clock=lambda: now[0])
    >>> for key in "abcd":
    ...     writer.add(key, CachedAnswer("text"))
    >>> writer.cache.writes, writer.waiting  # the 3rd answer filled a batch
    ([['a', 'b', 'c']], 1)
    >>> writer.due(), (now.__setitem__(0, 0.5), writer.due())[1]
    (False, True)
    >>> writer.flush(); writer.cache.writes[-1], writer.waiting
    (['d'], 0)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

#: The durability bound: an answer waits for at most this many others, or this many seconds.
MAX_BATCH = 64
MAX_DELAY = 0.5


@dataclass(frozen=True)
class CachedAnswer:
    """One stored answer: its text and token usage."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0


class AnswerCache(Protocol):
    """What the engine needs of a cache."""

    def get_many(self, keys: list[str]) -> dict[str, CachedAnswer]: ...

    def put_many(self, items: list[tuple[str, CachedAnswer]]) -> None: ...


class AnswerWriter:
    """Buffers answers for ``cache.put_many`` within the bound above (see the module docstring).

    An answer leaves the buffer only once its write returned: a failed write keeps it for the
    next one."""

    def __init__(
        self,
        cache: Any,
        *,
        max_batch: int = MAX_BATCH,
        max_delay: float = MAX_DELAY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cache, self.max_batch, self.max_delay, self.clock = cache, max_batch, max_delay, clock
        self._pending: list[tuple[str, CachedAnswer]] = []
        self._oldest = 0.0
        self.writes = 0

    @property
    def waiting(self) -> int:
        return len(self._pending)

    def add(self, key: str, answer: CachedAnswer) -> None:
        if not self._pending:
            self._oldest = self.clock()
        self._pending.append((key, answer))
        if len(self._pending) >= self.max_batch:
            self.flush()

    def due(self) -> bool:
        """Whether the oldest waiting answer has waited ``max_delay`` seconds."""
        return bool(self._pending) and self.clock() - self._oldest >= self.max_delay

    def seconds_left(self, default: float) -> float:
        """Seconds until :meth:`due` (``default`` when nothing waits)."""
        if not self._pending:
            return default
        return max(0.0, min(default, self._oldest + self.max_delay - self.clock()))

    def flush(self) -> None:
        if self._pending:
            batch = self._pending
            self.cache.put_many(batch)
            self.writes += 1
            if self._pending is batch:
                self._pending = []
