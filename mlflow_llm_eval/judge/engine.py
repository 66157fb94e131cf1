"""The judge engine: every row gets an answer or a status, with bounded effort.

- **Adaptive concurrency** (AIMD, as TCP; see :class:`AdaptiveLimit`): start at
  ``initial_concurrency`` requests in flight and double each round trip (slow start: +1 per
  answer) until the first congestion signal, then +1 per round trip; never above
  ``max_concurrency``. Congestion is judged per round trip, by its share: the limit is cut when
  more than 25% of the requests of a round trip come back overloaded (429, 503, 529, timeout),
  to the share that was answered (at least halved). So random overload answers, unrelated to
  our load (10% 429 while the provider is busy), do not hold the limit down, while a real cap
  (everything above N in flight refused, or above R requests/s) still brings it back to about
  N (about R x round trip): the limit hovers between N and N/0.75, and up to ~25% of requests
  are refused there (each retried after its Retry-After). A server that queues instead of
  refusing is detected by its rising latency (the limit stops growing, then is cut x0.7).
  A refused request keeps its slot during its Retry-After / backoff wait, so instant 429s
  cannot spin: at most ``limit`` refusals per wait.
- **Retries**: rate limits (429), timeouts, 5xx and connection errors are retried after the
  server's ``Retry-After`` (+0-20% jitter) when it sends one, else with exponential backoff and
  full jitter (``uniform(0, base * 2**n)``, capped); at most ``max_attempts`` attempts per row
  and a total retry budget per run (``retry_budget`` x rows, at least 10). Other 4xx errors
  are not retried; after three rows fail with the same 4xx error (bad key, unknown model) the
  remaining rows are not sent.
- **Asked to wait**: a 429 that carries ``Retry-After`` is the server saying when to come back
  (a rate or concurrency limit), not a failed attempt: the row waits and resends without
  spending an attempt or the retry budget. Those waits have their own bounds: at most
  ``max_wait`` seconds of Retry-After per row (default 300) and ``wait_budget`` x rows such
  resends per run (default 3, at least 30); past either, a 429 counts as a failed attempt
  again. So a real limit (60 requests/s, 6 in flight) loses no row while slow start overshoots
  it, and a run's effort stays bounded: at most ``(1 + retry_budget + wait_budget) x rows``
  requests (at least 10 and 30 for the budgets) plus one repair request per row.
- **Answers**: parsed strictly (see :mod:`.parse`); an unusable answer gets one repair request
  (the conversation continued with the reason). If the repair answer is unusable too, the row
  is retried like a failed request (same attempt limit and retry budget); when those run out
  it is ``parse_error`` and keeps the raw answers.
- A tqdm progress bar: by default for runs of 100+ rows on a terminal or in a notebook (not in
  CI logs); ``progress=True``/``False`` forces it on/off.

    >>> from mlflow_llm_eval.judge.endpoints import Completion
    >>> class Echo:
    ...     identity, json_mode = "echo", False
    ...     def complete(self, messages, parameters):
    ...         return Completion('{"score": 3, "justification": "fine"}', 5, 4)
    >>> engine = JudgeEngine(Echo(), progress=False)
    >>> out = engine.run([[{"role": "user", "content": "q"}]] * 2, {}, (1, 5),
    ...                  repair=lambda m, text, why: m)
    >>> [o.verdict.score for o in out], engine.stats.requests
    ([3.0, 3.0], 2)
"""

from __future__ import annotations

import heapq
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from mlflow_llm_eval.judge.endpoints import Completion, JudgeCallError, JudgeClient
from mlflow_llm_eval.judge.parse import AnswerError, Verdict, parse_answer

_logger = logging.getLogger(__name__)

Messages = list[dict[str, Any]]
_SAME_CLIENT_ERROR_LIMIT = 3


@dataclass
class Outcome:
    """One row's result: a verdict, or a status with its reason; the raw answer text if any."""

    verdict: Verdict | None = None
    status: str = "ok"
    reason: str | None = None
    raw: str | None = None
    completion: Completion | None = None


@dataclass
class Stats:
    requests: int = 0
    retries: int = 0
    waits: int = 0  # of the retries: resends after a 429 with Retry-After (own budget)
    repairs: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    peak_concurrency: int = 0


def _interactive(rows: int) -> bool:
    """Show a progress bar by default: a long run on a terminal or in a Jupyter kernel."""
    import sys

    return rows >= 100 and (sys.stderr.isatty() or "ipykernel" in sys.modules)


class AdaptiveLimit:
    """How many requests may be in flight: grows while the endpoint answers, shrinks on overload.

    - Growth: +1 per answer in slow start (the limit doubles each round trip); after the first
      cut or sign of queueing, +1/limit per answer (+1 per round trip).
    - Overload (``release(overloaded=True)``: 429, 503, 529, timeout) is counted in blocks of
      ``max(limit, 16)`` finished requests, about one round trip. When a block's overloaded
      count passes ``threshold`` (25%) of that size, the limit is multiplied by the block's
      answered share (``1 - overloaded/finished``, at least 0.5) and a new block starts;
      requests sent before a cut are not counted after it, so one burst is judged once.
      16 keeps small blocks from cutting on noise: with 10% random 429s, 5 or more of 16
      happens in under 2% of blocks.
    - Latency: the limit stops growing while the smoothed round trip exceeds 1.5 times its
      lowest value so far (+50 ms) and is cut by ``decrease`` past twice that (+0.1 s).
    - ``release(hold=s)`` keeps the slot taken ``s`` seconds more (a refused request waiting
      for its retry).

    >>> limit = AdaptiveLimit(initial=8, maximum=64)
    >>> for overloaded in [False] * 8 + [True] * 2 + [False] * 6:  # 2 of 16: random faults
    ...     generation = limit.acquire()
    ...     limit.release(generation, overloaded, not overloaded, seconds=0.2)
    >>> limit.limit  # slow start: +1 per answer, no cut
    22.0
    """

    block_minimum = 16

    def __init__(self, initial: int, maximum: int, decrease: float = 0.7,
                 threshold: float = 0.25):
        self.maximum = max(1, int(maximum))
        self.initial = min(max(1, int(initial)), self.maximum)
        self.limit = float(self.initial)
        self.decrease, self.threshold = decrease, threshold
        self.in_flight = 0
        self.peak = 0
        self.cuts = 0
        self._held: list[float] = []  # heap: when the slots kept by refused requests free up
        self.round_trip = 0.0
        self.baseline: float | None = None
        self._answers = 0
        self._slow_start = True
        self._done = self._overloaded = 0  # the current block
        self._cond = threading.Condition()

    def acquire(self) -> int:
        """Wait for a free slot; returns the cut generation to hand back to :meth:`release`."""
        with self._cond:
            while True:
                now = time.monotonic()
                while self._held and self._held[0] <= now:
                    heapq.heappop(self._held)
                if self.in_flight + len(self._held) < int(self.limit):
                    break
                self._cond.wait(self._held[0] - now if self._held else None)
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            return self.cuts

    def _cut(self, factor: float) -> None:
        self.limit = max(1.0, self.limit * factor)
        self.cuts += 1
        self._slow_start = False
        self._done = self._overloaded = 0

    def release(self, generation: int, overloaded: bool, answered: bool, seconds: float,
                hold: float = 0.0) -> None:
        """Account one finished request (sent in cut ``generation``) and adjust the limit;
        ``hold`` > 0 keeps its slot taken that many seconds more."""
        with self._cond:
            self.in_flight -= 1
            if hold > 0:
                heapq.heappush(self._held, time.monotonic() + hold)
            if answered:
                self.round_trip = seconds if not self.round_trip else \
                    0.8 * self.round_trip + 0.2 * seconds
                self._answers += 1
                if self._answers >= self.initial:  # lowest smoothed round trip: no queueing
                    self.baseline = min(self.baseline or self.round_trip, self.round_trip)
            block = max(self.limit, self.block_minimum)
            baseline = self.baseline
            if generation == self.cuts:  # sent after the last cut
                self._done += 1
                self._overloaded += int(overloaded)
                if self._overloaded > self.threshold * block:
                    self._cut(max(0.5, 1.0 - self._overloaded / self._done))
                elif baseline is not None and self.round_trip > 2 * baseline + 0.1:
                    self._cut(self.decrease)
                elif self._done >= block:
                    self._done = self._overloaded = 0
            if answered and generation == self.cuts and baseline is not None and (
                    self.round_trip > 1.5 * baseline + 0.05
                    or (self._slow_start and seconds > 1.5 * baseline + 0.05)):
                self._slow_start = False  # queueing: hold the limit
            elif answered and generation == self.cuts:
                step = 1.0 if self._slow_start else 1.0 / self.limit
                self.limit = min(float(self.maximum), self.limit + step)
            self._cond.notify_all()


class JudgeEngine:
    """Sends the requests of one run; see the module docstring for the policy."""

    def __init__(
        self,
        client: JudgeClient,
        *,
        max_concurrency: int = 64,
        initial_concurrency: int = 8,
        max_attempts: int = 6,
        retry_budget: float = 0.5,
        wait_budget: float = 3.0,
        max_wait: float = 300.0,
        backoff_base: float = 0.5,
        backoff_max: float = 20.0,
        progress: bool | None = None,
        description: str = "judge",
        on_answer: Callable[[int, Completion], None] | None = None,
    ) -> None:
        if max_concurrency < 1 or initial_concurrency < 1 or max_attempts < 1:
            raise ValueError("max_concurrency, initial_concurrency and max_attempts must be >= 1")
        if min(retry_budget, wait_budget, max_wait) < 0:
            raise ValueError("retry_budget, wait_budget and max_wait must be >= 0")
        self.client = client
        self.max_concurrency, self.initial_concurrency = max_concurrency, initial_concurrency
        self.max_attempts, self.retry_budget = max_attempts, retry_budget
        self.wait_budget, self.max_wait = wait_budget, max_wait
        self.backoff_base, self.backoff_max = backoff_base, backoff_max
        self.progress, self.description, self.on_answer = progress, description, on_answer
        self.stats = Stats()
        self._lock = threading.Lock()
        self._budget_left = self._waits_left = 0
        self._client_errors: dict[str, int] = {}
        self._abort: str | None = None

    # -- accounting -------------------------------------------------------------------------
    def _take_retry(self) -> bool:
        with self._lock:
            if self._budget_left <= 0:
                return False
            self._budget_left -= 1
            self.stats.retries += 1
            return True

    def _take_wait(self, exc: JudgeCallError, waited: float) -> bool:
        """Whether a refused request is resent as asked (a 429 with Retry-After, within the
        row's ``max_wait`` and the run's wait budget) rather than charged as a failed attempt."""
        if exc.kind != "rate_limited" or exc.retry_after is None \
                or waited + exc.wait > self.max_wait:  # type: ignore[attr-defined]
            return False
        with self._lock:
            if self._waits_left <= 0:
                return False
            self._waits_left -= 1
            self.stats.waits += 1
            self.stats.retries += 1
            return True

    def _count(self, completion: Completion | None = None, repair: bool = False) -> None:
        with self._lock:
            self.stats.requests += 1
            self.stats.repairs += int(repair)
            if completion is not None:
                self.stats.prompt_tokens += completion.prompt_tokens
                self.stats.completion_tokens += completion.completion_tokens

    def _note_client_error(self, error: JudgeCallError) -> None:
        with self._lock:
            text = str(error)
            self._client_errors[text] = self._client_errors.get(text, 0) + 1
            if self._client_errors[text] >= _SAME_CLIENT_ERROR_LIMIT:
                self._abort = text

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """The server's Retry-After (plus up to 20% jitter) if given, else exponential backoff."""
        if retry_after is not None:
            return min(retry_after, self.backoff_max * 3) * random.uniform(1.0, 1.2)
        return random.uniform(0, min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1)))

    # -- one row ----------------------------------------------------------------------------
    def _call(self, limit: AdaptiveLimit, messages: Messages,
              parameters: Mapping[str, Any], repair: bool, attempt: int) -> Completion:
        """One request in a slot of ``limit``. A failed request's error gets ``wait``: the
        delay before its retry; a refused one (overloaded) keeps its slot during that wait."""
        generation = limit.acquire()
        throttled = answered = False
        hold = 0.0
        started = time.monotonic()
        try:
            if self._abort is not None:  # checked once a slot is free: nothing more is sent
                raise JudgeCallError("request_error", f"not sent: {self._abort}", retryable=False)
            try:
                completion = self.client.complete(messages, parameters)
            except JudgeCallError as exc:
                throttled = exc.overloaded
                exc.wait = self._delay(attempt, exc.retry_after)  # type: ignore[attr-defined]
                hold = exc.wait if throttled else 0.0  # type: ignore[attr-defined]
                self._count(None, repair)
                raise
            answered = True
            self._count(completion, repair)
            return completion
        finally:
            limit.release(generation, throttled, answered, time.monotonic() - started, hold)

    def _judge_row(self, index: int, messages: Messages, parameters: Mapping[str, Any],
                   scale: tuple[float, float],
                   repair: Callable[[Messages, str, str], Messages]) -> Outcome:
        attempt, repaired, current, waited = 0, False, messages, 0.0
        unusable: list[str] = []
        while True:
            attempt += 1
            try:
                completion = self._call(self._limit, current, parameters,
                                        repair=current is not messages, attempt=attempt)
            except JudgeCallError as exc:
                if not exc.retryable:
                    if not str(exc).startswith("not sent"):
                        self._note_client_error(exc)
                    return Outcome(status=exc.kind, reason=str(exc))
                if self._take_wait(exc, waited):  # asked to wait: not a failed attempt
                    attempt -= 1
                    waited += exc.wait  # type: ignore[attr-defined]
                elif not self._may_retry(attempt):
                    return Outcome(status=exc.kind, reason=f"{exc} ({self._gave_up(attempt)})")
                time.sleep(exc.wait)  # type: ignore[attr-defined]
                current = messages
                continue
            try:
                verdict = parse_answer(completion.text, scale)
            except AnswerError as problem:
                unusable.append(repr(completion.text))
                if not repaired:  # one repair request: the conversation continued with the reason
                    repaired = True
                    current = repair(messages, completion.text or "", str(problem))
                    continue
                if self._may_retry(attempt):  # the repair failed too: a fresh attempt
                    current = messages
                    continue
                return Outcome(status="parse_error", raw=completion.text,
                               reason=f"{problem} (after one repair request; "
                                      f"{self._gave_up(attempt)}); raw answers: "
                                      + " then ".join(unusable)[:4000])
            if self.on_answer is not None:
                self.on_answer(index, completion)
            return Outcome(verdict=verdict, raw=completion.text, completion=completion)

    def _may_retry(self, attempt: int) -> bool:
        return attempt < self.max_attempts and self._take_retry()

    def _gave_up(self, attempt: int) -> str:
        why = "attempts" if attempt >= self.max_attempts else "the run's retry budget"
        return f"gave up after {attempt} attempts: {why} spent"

    # -- a run ------------------------------------------------------------------------------
    def run(self, requests: Sequence[Messages], parameters: Mapping[str, Any],
            scale: tuple[float, float],
            repair: Callable[[Messages, str, str], Messages]) -> list[Outcome]:
        """Judge every request (one per row, in order); never raises for a row."""
        from tqdm.auto import tqdm

        n = len(requests)
        self._budget_left = max(10, int(self.retry_budget * n))
        self._waits_left = max(30, int(self.wait_budget * n))
        self._limit = AdaptiveLimit(self.initial_concurrency, self.max_concurrency)
        outcomes: list[Outcome | None] = [None] * n
        disable = not (_interactive(n) if self.progress is None else self.progress)
        workers = min(self.max_concurrency, max(1, n))
        with tqdm(total=n, desc=self.description, disable=disable, leave=False) as bar, \
                ThreadPoolExecutor(max_workers=workers, thread_name_prefix="judge") as pool:
            def task(i: int) -> None:
                try:
                    outcomes[i] = self._judge_row(i, requests[i], parameters, scale, repair)
                except Exception as exc:  # noqa: BLE001 - a bug must not lose the other rows
                    outcomes[i] = Outcome(status="error", reason=f"{type(exc).__name__}: {exc}")
                bar.update(1)

            for future in [pool.submit(task, i) for i in range(n)]:
                future.result()
        self.stats.peak_concurrency = max(self.stats.peak_concurrency, self._limit.peak)
        return [o if o is not None else Outcome(status="error", reason="no outcome") for o in outcomes]
