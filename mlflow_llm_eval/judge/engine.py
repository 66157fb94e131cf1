"""The judge engine: every row gets an answer or a status, with bounded effort.

- **Adaptive concurrency** (AIMD, as TCP; see :class:`AdaptiveLimit`): start at
  ``initial_concurrency`` requests in flight; each answered request adds one (slow start) until
  the first overload signal (429, 503, 529, timeout, or latency growing from queueing), then one
  per round trip; an overload signal multiplies the limit by 0.7 (at most once per round trip),
  never below 1 and never above ``max_concurrency``.
- **Retries**: rate limits (429), timeouts, 5xx and connection errors are retried after the
  server's ``Retry-After`` (+0-20% jitter) when it sends one, else with exponential backoff and
  full jitter (``uniform(0, base * 2**n)``, capped); at most ``max_attempts`` requests per row and a total retry budget per run
  (``retry_budget`` x rows, at least 10). Other 4xx errors are not retried; after three rows
  fail with the same 4xx error (bad key, unknown model) the remaining rows are not sent.
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
    repairs: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    peak_concurrency: int = 0


def _interactive(rows: int) -> bool:
    """Show a progress bar by default: a long run on a terminal or in a Jupyter kernel."""
    import sys

    return rows >= 100 and (sys.stderr.isatty() or "ipykernel" in sys.modules)


class AdaptiveLimit:
    """How many requests may be in flight: grows while answers come back fast, shrinks on overload.

    Slow start (+1 per answer, doubling per round trip) until the first overload signal or the
    first answer 1.5 times slower than usual, then +1 per round trip. An overload signal (429, 503, 529, timeout) multiplies the limit by
    ``decrease``, at most once per round trip, so one burst counts once. A server that queues
    instead of refusing shows it in latency: the limit stops growing while the smoothed round
    trip exceeds 1.5 times its lowest value so far (+50 ms), and shrinks past twice (+0.1 s).
    """

    def __init__(self, initial: int, maximum: int, decrease: float = 0.7):
        self.maximum = max(1, int(maximum))
        self.initial = min(max(1, int(initial)), self.maximum)
        self.limit = float(self.initial)
        self.decrease = decrease
        self.in_flight = 0
        self.peak = 0
        self.round_trip = 0.0
        self.baseline: float | None = None
        self._answers = 0
        self._slow_start = True
        self._last_cut = -float("inf")
        self._cond = threading.Condition()

    def acquire(self) -> None:
        with self._cond:
            while self.in_flight >= int(self.limit):
                self._cond.wait()
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)

    def _cut(self) -> None:
        now = time.monotonic()
        if now - self._last_cut >= max(self.round_trip, 0.02):
            self.limit = max(1.0, self.limit * self.decrease)
            self._last_cut = now
        self._slow_start = False

    def release(self, overloaded: bool, answered: bool, seconds: float) -> None:
        with self._cond:
            self.in_flight -= 1
            if answered:
                self.round_trip = seconds if not self.round_trip else \
                    0.8 * self.round_trip + 0.2 * seconds
                self._answers += 1
                if self._answers >= self.initial:  # lowest smoothed round trip: no queueing
                    self.baseline = min(self.baseline or self.round_trip, self.round_trip)
            baseline = self.baseline
            if overloaded or (baseline is not None and self.round_trip > 2 * baseline + 0.1):
                self._cut()
            elif answered and baseline is not None and (
                    self.round_trip > 1.5 * baseline + 0.05
                    or (self._slow_start and seconds > 1.5 * baseline + 0.05)):
                self._slow_start = False  # queueing: hold the limit
            elif answered:
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
        backoff_base: float = 0.5,
        backoff_max: float = 20.0,
        progress: bool | None = None,
        description: str = "judge",
        on_answer: Callable[[int, Completion], None] | None = None,
    ) -> None:
        if max_concurrency < 1 or initial_concurrency < 1 or max_attempts < 1:
            raise ValueError("max_concurrency, initial_concurrency and max_attempts must be >= 1")
        self.client = client
        self.max_concurrency, self.initial_concurrency = max_concurrency, initial_concurrency
        self.max_attempts, self.retry_budget = max_attempts, retry_budget
        self.backoff_base, self.backoff_max = backoff_base, backoff_max
        self.progress, self.description, self.on_answer = progress, description, on_answer
        self.stats = Stats()
        self._lock = threading.Lock()
        self._budget_left = 0
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
              parameters: Mapping[str, Any], repair: bool) -> Completion:
        limit.acquire()
        throttled = answered = False
        started = time.monotonic()
        try:
            if self._abort is not None:  # checked once a slot is free: nothing more is sent
                raise JudgeCallError("request_error", f"not sent: {self._abort}", retryable=False)
            try:
                completion = self.client.complete(messages, parameters)
            except JudgeCallError as exc:
                throttled = exc.overloaded
                self._count(None, repair)
                raise
            answered = True
            self._count(completion, repair)
            return completion
        finally:
            limit.release(throttled, answered, time.monotonic() - started)

    def _judge_row(self, index: int, messages: Messages, parameters: Mapping[str, Any],
                   scale: tuple[float, float],
                   repair: Callable[[Messages, str, str], Messages]) -> Outcome:
        attempt, repaired, current = 0, False, messages
        unusable: list[str] = []
        while True:
            attempt += 1
            try:
                completion = self._call(self._limit, current, parameters,
                                        repair=current is not messages)
            except JudgeCallError as exc:
                if not exc.retryable:
                    if not str(exc).startswith("not sent"):
                        self._note_client_error(exc)
                    return Outcome(status=exc.kind, reason=str(exc))
                if not self._may_retry(attempt):
                    return Outcome(status=exc.kind, reason=f"{exc} ({self._gave_up(attempt)})")
                time.sleep(self._delay(attempt, exc.retry_after))
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
