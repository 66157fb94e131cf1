"""The shared state of one endpoint: its adaptive limit, pacer and circuit breaker, and the
queue of requests waiting for a slot. One per endpoint identity in the process
(:func:`endpoint_state`), touched only on the request loop (:mod:`.loop`): every run against
that endpoint, from any thread, shares it.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from mlflow_llm_eval.chat.limits import AdaptiveLimit, CircuitBreaker
from mlflow_llm_eval.chat.pacing import Pacer
from mlflow_llm_eval.chat.types import RateInfo

#: Seconds without any run after which an endpoint's learned concurrency limit starts afresh.
IDLE_RESET = 30.0


@dataclass
class Ticket:
    """A request allowed to leave: what to hand back when it finishes."""

    generation: int
    level: int
    sent: tuple[float, float, float]
    started: float
    probe: bool


@dataclass(frozen=True)
class RunSettings:
    initial_concurrency: int
    max_concurrency: int
    rpm: float | None = None
    tpm: float | None = None
    breaker_threshold: int = 5


class EndpointState:
    """See the module docstring; ``clock`` is injectable for tests."""

    def __init__(self, identity: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.identity, self.clock = identity, clock
        self.limit: AdaptiveLimit | None = None
        self.pacer = Pacer()
        self.breaker = CircuitBreaker()
        self._runs: dict[int, RunSettings] = {}
        self._waiters: deque[tuple[asyncio.Future[Ticket | None], int, float | None]] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self.refused = 0
        self.last_active = -float("inf")
        #: How late the request loop runs (seconds; see :class:`LoopLag`), measured while runs
        #: are active; the limit keeps the answers that may wait unread within one lag small.
        self.lag = LoopLag()
        #: Parameters this endpoint refused -> the name sent instead (None: dropped); see
        #: :mod:`.adapt`. Kept for the process's later runs.
        self.adapted: dict[str, str | None] = {}

    # -- runs ----------------------------------------------------------------------------------
    def join(self, run: int, settings: RunSettings) -> None:
        """A run starts: its settings count (the largest ceiling, the lowest rpm/tpm/threshold)."""
        now = self.clock()
        if not self._runs and now - self.last_active > IDLE_RESET:
            self.limit = None  # what was learned long ago may no longer hold
        self._runs[run] = settings
        if self.limit is None:
            self.limit = AdaptiveLimit(settings.initial_concurrency, settings.max_concurrency)
        self._apply()
        self.breaker.new_run()
        self.lag.start()

    def leave(self, run: int) -> None:
        self._runs.pop(run, None)
        self.last_active = self.clock()
        if self._runs:
            self._apply()
        else:
            self.lag.stop()

    def _apply(self) -> None:
        runs = list(self._runs.values())
        assert self.limit is not None
        self.limit.set_maximum(max(r.max_concurrency for r in runs))
        rpms = [r.rpm for r in runs if r.rpm]
        tpms = [r.tpm for r in runs if r.tpm]
        self.pacer.configure(min(rpms) if rpms else None, min(tpms) if tpms else None, self.clock())
        self.breaker.threshold = min(r.breaker_threshold for r in runs)

    # -- slots ---------------------------------------------------------------------------------
    async def acquire(self, prompt_chars: int, max_tokens: float | None) -> Ticket | None:
        """Wait (in arrival order) for a slot, the pacer and the breaker; None: the breaker is
        open, do not send. The token cost is estimated when the request's turn comes (with the
        usage seen by then)."""
        future: asyncio.Future[Ticket | None] = asyncio.get_running_loop().create_future()
        self._waiters.append((future, prompt_chars, max_tokens))
        self._wake()
        try:
            return await future
        except asyncio.CancelledError:  # a ticket given just before the cancel goes back
            if future.done() and not future.cancelled():
                ticket = future.result()
                if ticket is not None:
                    self.release(ticket, answered=False)
            raise

    def _wake(self) -> None:
        limit = self.limit
        assert limit is not None
        now = self.clock()
        while self._waiters:
            future, chars, max_tokens = self._waiters[0]
            if future.done():  # cancelled (deadline)
                self._waiters.popleft()
                continue
            verdict = self.breaker.allow()
            if verdict == "refuse":
                self._waiters.popleft()
                future.set_result(None)
                continue
            if verdict == "wait":
                return
            ready = limit.free(now)
            cost = self.pacer.cost(chars, max_tokens)
            delay = self.pacer.delay(cost, now) if ready else 0.0
            if not ready or delay > 0:
                if verdict == "probe":
                    self.breaker.on_other_failure()  # not sent yet: the probe is still to come
                at = now + delay if ready else limit.next_release()
                if at is not None:
                    self._schedule(at, now)
                return
            self._waiters.popleft()
            generation, level = limit.on_send(now)
            sent = self.pacer.take(cost, now)
            future.set_result(Ticket(generation, level, sent, now, verdict == "probe"))

    def _schedule(self, at: float, now: float) -> None:
        if (
            self._timer is not None
            and not self._timer.cancelled()
            and self._timer_at <= at
            and self._timer_at > now
        ):
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = at
        self._timer = asyncio.get_running_loop().call_later(
            max(0.0, at - now) + 1e-4, self._on_timer
        )

    def _on_timer(self) -> None:
        self._timer = None  # fired: the next wait schedules its own (whatever the clock says)
        self._wake()

    def release(
        self,
        ticket: Ticket,
        *,
        answered: bool,
        overloaded: bool = False,
        unreachable: bool = False,
        hold: float = 0.0,
        rate: RateInfo | None = None,
        refused: bool = False,
        prompt_chars: int = 0,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        reason: str | None = None,
        failed: bool = False,
    ) -> None:
        """A request finished: ``answered`` (any HTTP answer; ``failed``: an error status), or
        ``unreachable`` (timeout, connection error), or neither (cancelled)."""
        assert self.limit is not None
        now = self.clock()
        self.limit.on_finish(
            ticket.generation,
            ticket.level,
            overloaded,
            answered and not failed and not overloaded,
            now - ticket.started,
            now,
            hold,
        )
        if answered:
            self.limit.on_lag(self.lag.value)
        self.refused += int(refused)
        self.pacer.observe(
            rate,
            ticket.sent,
            now,
            refused=refused,
            prompt_chars=prompt_chars,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
        )
        if answered or unreachable:
            self.breaker.on_result(answered, reason)
        elif ticket.probe:
            self.breaker.on_other_failure()
        self._wake()


class LoopLag:
    """How late the running loop runs a timer due every ``interval`` seconds: the time an
    answer that has arrived waits before the process reads it (the loop busy with other answers,
    or the process starved of CPU). Rises at once to a late tick, decays by ``decay`` per tick.
    Runs while started (the endpoint has runs), on the request loop.

        >>> import asyncio
        >>> async def measure():
        ...     lag = LoopLag()
        ...     lag.start()
        ...     await asyncio.sleep(0.02)
        ...     time.sleep(0.1)  # the loop blocked for 100 ms
        ...     await asyncio.sleep(0.001)
        ...     late = lag.value
        ...     lag.stop()
        ...     return late
        >>> asyncio.run(measure()) >= 0.09  # a tick was due within 10 ms of the block
        True
    """

    def __init__(self, interval: float = 0.01, decay: float = 0.95) -> None:
        self.interval, self.decay = interval, decay
        self.value = 0.0
        self._timer: asyncio.TimerHandle | None = None

    def start(self) -> None:
        if self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_at(loop.time() + self.interval, self._tick, loop)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.value = 0.0

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        assert self._timer is not None
        now = loop.time()
        self.value = max(now - self._timer.when(), self.value * self.decay)
        self._timer = loop.call_at(now + self.interval, self._tick, loop)


_states: dict[str, EndpointState] = {}
_pid = os.getpid()


def forget(identity: str | None = None) -> None:
    """Drop the learned state of one endpoint (or all): the next run starts afresh."""
    if identity is None:
        _states.clear()
    else:
        _states.pop(identity, None)


def endpoint_state(identity: str) -> EndpointState:
    """The process-wide state of an endpoint (call on the request loop)."""
    global _pid
    if _pid != os.getpid():  # a forked child: the parent's queues belong to another loop
        _states.clear()
        _pid = os.getpid()
    state = _states.get(identity)
    if state is None:
        state = _states[identity] = EndpointState(identity)
    return state
