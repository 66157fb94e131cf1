"""The request engine: every row's chat request gets an answer or a status with its reason, with
bounded effort. Not judge-specific: judges and models under test both run on it; it imports
nothing above :mod:`mlflow_llm_eval.chat`.

- **One loop, one pool**: requests of every run in the process go out from one asyncio loop
  (:mod:`.loop`) through one HTTP connection pool; the calling thread only waits, updates the
  progress bar and writes the cache in batches.
- **Shared per endpoint** (:mod:`.endpoint`): the adaptive concurrency limit
  (:class:`~.limits.AdaptiveLimit`), the pacer (:mod:`.pacing`: ``rpm=``/``tpm=`` and the
  endpoint's ``x-ratelimit-*`` headers) and the circuit breaker are one per endpoint in the
  process: runs from several threads against one endpoint share one limit. One request through
  them, and its accounting and backoff: :mod:`.send`.
- **Retries**: 429, timeouts, 5xx and connection errors are retried after the server's
  ``Retry-After`` (+0-20% jitter) if it sends one, else after exponential backoff with full
  jitter (``uniform(0, base * 2**n)``, capped); at most ``max_attempts`` requests per row and a
  retry budget per run (``retry_budget`` x rows, at least 10). A 429 with ``Retry-After`` is
  the server saying when to come back: resent without spending an attempt, within ``max_wait``
  seconds per row and ``wait_budget`` x rows (at least 30) such resends per run. Other 4xx are
  not retried; after three identical ones in a row with no answer in between (bad key, unknown
  model) nothing more is sent. At most ``(1 + retry_budget + wait_budget) x rows`` requests.
- **Unusable answers**: ``check(completion, messages)`` (the row's messages) turns an answer into the row's value or raises
  :class:`Unusable`, optionally with one follow-up conversation (a judge's repair request);
  after that, an unusable answer is retried like a failed request, then the row ends with
  ``unusable_status`` and the raw answers.
- **Bounded when the endpoint hangs**: after ``breaker_threshold`` consecutive timeouts or
  connection errors with no answer, nothing more is sent and the remaining rows end
  ``endpoint_unavailable`` at once (a hanging endpoint costs about one timeout, not one per
  row); ``deadline=`` seconds ends the rows not done by then ``deadline_exceeded``.
- **Cache hook**: ``cache`` (``get_many``/``put_many``) and ``cache_key(messages)``: answers
  that passed ``check`` are written from the calling thread as they arrive (:mod:`.store`: after
  every batch taken from the loop, and at most 64 answers or 0.5 s after receipt), stored
  answers are checked again and not sent. A ``kill -9`` loses at most the last write's answers,
  and the answers the endpoint sent that the process had not read yet: the limit keeps those few
  when the request loop runs late (:meth:`~.limits.AdaptiveLimit.on_lag`).
- **Interrupts**: when the calling thread is interrupted (``KeyboardInterrupt``, or an exception
  raised by ``on_answer``), nothing more is sent; the requests already in flight are waited for
  ``interrupt_grace`` seconds (0.5) and their answers stored; then the rest is cancelled and the
  exception re-raised: a re-run pays only for what was never answered. ``halted`` (an event)
  is set once nothing more is handed to the client, ``sent_at_halt`` counts what was
  (``requests_sent``: all requests handed to it), ``stopped`` once the run's requests all ended.
- **Refused parameters** (:mod:`.adapt`): a 400 naming a parameter the model does not take
  (``max_tokens`` and ``temperature`` on reasoning models) changes it once per endpoint (one log
  line) and the rows are sent again.
- **No process-wide state**: the engine changes nothing outside its own objects (no ``gc``
  settings, no signal handlers, no logging configuration).

    >>> from mlflow_llm_eval.chat.types import Completion
    >>> class Upper:
    ...     identity, json_mode = "upper", False
    ...     def complete(self, messages, parameters):
    ...         return Completion(messages[0]["content"].upper(), 3, 1)
    >>> engine = ChatEngine(Upper(), progress=False)
    >>> replies = engine.run([[{"role": "user", "content": "hi"}]], {})
    >>> replies[0].value, replies[0].status, engine.stats.requests, engine.stats.prompt_tokens
    ('HI', 'ok', 1, 3)
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import queue
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from mlflow_llm_eval.chat import adapt
from mlflow_llm_eval.chat.collect import Replies, collect, interrupted
from mlflow_llm_eval.chat.endpoint import RunSettings, Ticket, endpoint_state
from mlflow_llm_eval.chat.loop import submit
from mlflow_llm_eval.chat.options import RequestOptions, UsesRequestOptions
from mlflow_llm_eval.chat.replies import STATUSES, Reply, Stats, Unusable
from mlflow_llm_eval.chat.send import RequestSender
from mlflow_llm_eval.chat.store import AnswerWriter
from mlflow_llm_eval.chat.types import CallError, ChatClient, Completion, Messages
from mlflow_llm_eval.core.repeats import RepeatedError

_logger = logging.getLogger(__name__)
_SAME_ERROR_LIMIT = 3
_runs = itertools.count()


def _interactive(rows: int) -> bool:
    """Show a progress bar by default: a long run on a terminal or in a Jupyter kernel."""
    import sys

    return rows >= 100 and (sys.stderr.isatty() or "ipykernel" in sys.modules)


class ChatEngine(RequestSender, UsesRequestOptions):
    """Sends the requests of one run; see the module docstring for the policy. Each
    :class:`~.options.RequestOptions` field reads as an attribute (``engine.max_attempts``)."""

    def __init__(
        self,
        client: ChatClient,
        *,
        request_options: RequestOptions | None = None,
        progress: bool | None = None,
        description: str = "requests",
        cache: Any = None,
        cache_key: Callable[[Messages], str] | None = None,
        on_answer: Callable[[int, Completion], None] | None = None,
        unusable_status: str = "unusable_answer",
        interrupt_grace: float = 0.5,
        retry_unusable: bool = True,
        **options: Any,
    ) -> None:
        """``request_options`` and/or its fields by keyword (:class:`~.options.RequestOptions`;
        ``timeout`` is the client's own). ``interrupt_grace``: seconds to wait for the answers
        in flight when the run is interrupted. ``retry_unusable=False``: an answer still
        unusable after the follow-up ends the row (no fresh attempt from the run's retry
        budget), so each row costs the same whatever the batch it is sent in."""
        opts = RequestOptions.resolve(request_options, client_built=True, **options)
        self.request_options = opts
        self.client = client
        self.identity = str(getattr(client, "identity", None) or f"client-{id(client)}")
        self.progress, self.description = progress, description
        self.cache, self.cache_key, self.on_answer = cache, cache_key, on_answer
        self.unusable_status = unusable_status
        self.retry_unusable = bool(retry_unusable)
        self.interrupt_grace = float(interrupt_grace)
        self.stats = Stats()
        self._stopping = False
        #: Requests handed to the client, over this engine's runs (counted on the request loop).
        self.requests_sent = 0
        #: Set once an interrupted run has stopped sending (on the request loop); from then on
        #: no request is handed to the client. ``sent_at_halt``: :attr:`requests_sent` then.
        self.halted = threading.Event()
        self.sent_at_halt: int | None = None
        #: Clear while a run's requests are on the loop; set once they all ended (nothing of the
        #: run can be sent any more).
        self.stopped = threading.Event()
        self.stopped.set()
        self._tasks: list[asyncio.Task[None]] = []
        self._sending: set[asyncio.Task[Any] | None] = set()

    # -- the calling thread ---------------------------------------------------------------------
    def run(
        self,
        requests: Sequence[Messages],
        parameters: Mapping[str, Any],
        check: Callable[[Completion, Messages], Any] | None = None,
    ) -> list[Reply]:
        """One reply per request, in order; never raises for a row (an interrupt or an
        exception from ``on_answer`` is re-raised once what was answered is stored)."""
        from tqdm.auto import tqdm

        check = check or (lambda completion, messages: completion.text)
        n = len(requests)
        replies: list[Reply | None] = [None] * n
        keys = (
            [self.cache_key(m) for m in requests]
            if self.cache is not None and self.cache_key
            else None
        )
        if keys is not None:
            for i, stored in self._cached(keys, requests, check):
                replies[i] = stored
        todo = [i for i in range(n) if replies[i] is None]
        self.stats.cache_hits += n - len(todo)
        if todo:
            done = Replies()
            writer = AnswerWriter(self.cache) if keys is not None else None
            disable = not (_interactive(n) if self.progress is None else self.progress)
            self._stopping = False
            self.halted.clear()
            self.sent_at_halt = None
            self.stopped.clear()
            future = submit(self._run(todo, requests, dict(parameters), check, done))
            try:
                with tqdm(
                    total=n,
                    initial=n - len(todo),
                    desc=self.description,
                    disable=disable,
                    leave=False,
                ) as bar:
                    collect(self, future, done, replies, keys, writer, bar, len(todo))
            except BaseException:
                interrupted(self, future, done, keys, writer)
                raise
            future.result()
            if writer is not None:
                writer.flush()
        return [r if r is not None else Reply(status="error", reason="no outcome") for r in replies]

    async def _halt(self) -> None:
        """On the loop: nothing more is sent; rows not waiting for an answer end now."""
        self._stopping = True
        for task in self._tasks:
            if task not in self._sending:
                task.cancel()
        self.sent_at_halt = self.requests_sent
        _logger.info(
            "interrupted: nothing more is sent (%d requests sent, %d in flight)",
            self.requests_sent,
            self._in_flight,
        )
        self.halted.set()

    def _cached(
        self,
        keys: list[str],
        requests: Sequence[Messages],
        check: Callable[[Completion, Messages], Any],
    ) -> Iterator[tuple[int, Reply]]:
        hits = self.cache.get_many(keys)
        for i, key in enumerate(keys):
            if key in hits:
                answer = hits[key]
                completion = Completion(answer.text, answer.prompt_tokens, answer.completion_tokens)
                try:
                    yield (
                        i,
                        Reply(
                            value=check(completion, requests[i]), completion=completion, cached=True
                        ),
                    )
                except Unusable:  # e.g. stored under another scale: ask again
                    pass

    # -- the request loop -----------------------------------------------------------------------
    async def _run(
        self,
        todo: list[int],
        requests: Sequence[Messages],
        parameters: dict[str, Any],
        check: Callable[[Completion, Messages], Any],
        done: queue.SimpleQueue[tuple[int, Reply]],
    ) -> None:
        n = len(todo)
        self._budget_left = max(10, int(self.retry_budget * n))
        self._waits_left = max(30, int(self.wait_budget * n))
        self._same_error = RepeatedError(_SAME_ERROR_LIMIT)
        self._abort: str | None = None
        self._in_flight = 0
        self._slots = asyncio.Semaphore(self.max_concurrency)
        self._state = state = endpoint_state(self.identity)
        max_tokens = parameters.get("max_tokens", parameters.get("max_completion_tokens"))
        self._max_tokens = float(max_tokens) if isinstance(max_tokens, (int, float)) else None
        self._parameters, self._given = adapt.apply(state.adapted, parameters), parameters
        run = next(_runs)
        state.join(
            run,
            RunSettings(
                min(self.initial_concurrency, self.max_concurrency),
                self.max_concurrency,
                self.rpm,
                self.tpm,
                self.breaker_threshold,
            ),
        )
        refused_before = state.refused
        sent: dict[int, int] = {}

        async def row(i: int) -> None:
            try:
                reply = await self._row(i, requests[i], parameters, check, sent)
            except asyncio.CancelledError:
                if self._stopping:
                    reply = Reply(status="error", reason="not sent: the run was interrupted")
                else:
                    reply = Reply(
                        status="deadline_exceeded",
                        reason=(
                            f"the run's deadline of {self.deadline:g} s passed before this row was "
                            f"answered ({sent.get(i, 0)} requests sent to {self._host()})"
                        ),
                    )
                    self.stats.deadline_exceeded += 1
                done.put((i, reply))
                raise
            except Exception as exc:  # noqa: BLE001 - a bug must not lose the other rows
                reply = Reply(status="error", reason=f"{type(exc).__name__}: {exc}")
            done.put((i, reply))

        self._tasks = tasks = [asyncio.ensure_future(row(i)) for i in todo]
        self._sending = set()
        try:
            _, late = await asyncio.wait(tasks, timeout=self.deadline)
            for task in late:
                task.cancel()
            if late:
                await asyncio.gather(*late, return_exceptions=True)
        except asyncio.CancelledError:  # the caller gave up (after the interrupt's grace)
            self._stopping = True
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        finally:
            self._tasks = []
            state.leave(run)
            self.stats.refused += state.refused - refused_before
            self.stopped.set()

    async def _row(
        self,
        index: int,
        messages: Messages,
        parameters: dict[str, Any],
        check: Callable[[Completion, Messages], Any],
        sent: dict[int, int],
    ) -> Reply:
        attempt, followed, current, waited, adapted = 0, False, messages, 0.0, 0
        unusable: list[str | None] = []
        while True:
            attempt += 1
            sent[index] = sent.get(index, 0) + 1
            parameters = self._parameters  # as adapted to the endpoint so far
            try:
                completion = await self._send(
                    current, parameters, attempt, repair=current is not messages
                )
            except CallError as exc:
                if not exc.retryable:
                    if adapted < 4 and self._adapt(exc, parameters):  # sent again, as it takes
                        attempt, adapted = attempt - 1, adapted + 1
                        continue
                    return Reply(status=exc.kind, reason=str(exc))
                if self._take_wait(exc, waited):  # asked to wait: not a failed attempt
                    attempt -= 1
                    waited += exc.wait  # type: ignore[attr-defined]
                elif not self._may_retry(attempt):
                    return Reply(
                        status=exc.kind,
                        reason=f"{exc} ({self._gave_up(attempt)})",
                        gave_up=self._gave_up(attempt),
                    )
                await asyncio.sleep(exc.wait)  # type: ignore[attr-defined]
                current = messages
                continue
            try:
                value = check(completion, messages)
            except Unusable as problem:
                unusable.append(completion.text)
                if problem.follow_up is not None and not followed:
                    followed, current = True, problem.follow_up
                    continue
                if self.retry_unusable and self._may_retry(attempt):  # a fresh attempt
                    current = messages
                    continue
                return Reply(
                    status=self.unusable_status,
                    reason=problem.reason,
                    completion=completion,
                    unusable=unusable,
                    gave_up=self._gave_up(attempt)
                    if self.retry_unusable
                    else f"no fresh attempt after {attempt} answers",
                )
            return Reply(value=value, completion=completion, unusable=unusable)

    def _adapt(self, exc: CallError, sent: Mapping[str, Any]) -> bool:
        """Whether a refused parameter (:mod:`.adapt`) is, or was meanwhile, changed for this
        endpoint: then the row is sent again."""
        if adapt.refused_parameter(exc, sent) is None:
            return False
        if sent is self._parameters:  # the first row to hear it: learn, for every later run too
            state = self._state
            param = adapt.learn(state.adapted, exc, sent)
            assert param is not None  # refused_parameter above was not None
            _logger.warning(
                "%s refused the parameter %r (%s): %s for this endpoint",
                self._host(),
                param,
                exc.code,
                adapt.describe(param, state.adapted),
            )
            self._parameters = adapt.apply(state.adapted, self._given)
        return True

    # -- accounting -----------------------------------------------------------------------------
    def _take_wait(self, exc: CallError, waited: float) -> bool:
        """Whether a refused request is resent as asked (a 429 with Retry-After, within the row's
        ``max_wait`` and the run's wait budget) rather than charged as a failed attempt."""
        if (
            exc.kind != "rate_limited"
            or exc.retry_after is None
            or waited + exc.wait > self.max_wait  # type: ignore[attr-defined]
            or self._waits_left <= 0
        ):
            return False
        self._waits_left -= 1
        self.stats.waits += 1
        self.stats.retries += 1
        return True

    def _may_retry(self, attempt: int) -> bool:
        if attempt >= self.max_attempts or self._budget_left <= 0:
            return False
        self._budget_left -= 1
        self.stats.retries += 1
        return True

    def _gave_up(self, attempt: int) -> str:
        why = "attempts" if attempt >= self.max_attempts else "the run's retry budget"
        return f"gave up after {attempt} attempts: {why} spent"


__all__ = ["STATUSES", "ChatEngine", "Reply", "Stats", "Ticket", "Unusable"]
