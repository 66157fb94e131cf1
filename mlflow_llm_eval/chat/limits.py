"""How many requests may be in flight (:class:`AdaptiveLimit`) and when to stop sending at all
(:class:`CircuitBreaker`). Pure state with the time passed in: no threads, no waiting (the
endpoint state in :mod:`.endpoint` does the waiting on the request loop).
"""

from __future__ import annotations

import heapq


class AdaptiveLimit:
    """Requests in flight: grows while the endpoint answers, shrinks on overload (AIMD, as TCP).

    - Growth: +2 per answer in slow start (the limit triples each round trip: 32 -> 256 in two);
      after the first cut or sign of queueing, +1/limit per answer (+1 per round trip); after a
      cut for refusals (a real cap was found: *capped*), an eighth of that (+1 per 8 round
      trips), halved each time a probe above the cap is refused at the level refused before
      (the cap confirmed: probes every 16, 32, ... round trips, at least every 64), back to an
      eighth once a level two above that cap is answered.
    - Overload (``overloaded=True``: 429, 503, 529, timeout) is counted in blocks of
      ``max(limit, 16)`` finished requests, about one round trip. When a block's overloaded
      count passes ``threshold`` (25%), the limit is multiplied by the block's answered share
      (at least 0.5), and brought below the lowest in-flight level at which a request of the block
      was refused (not below a quarter, unless every answer of the block came from a lower
      level: then right below it); it becomes capped; requests sent before a cut are not counted after it.
      So random refusals (10% 429 while a provider is busy) do not hold the limit down.
    - The first window: refusals past that share before anything was ever answered (a cap
      below the initial limit; they come back at once, the admitted requests later) set the
      limit to the requests still out, which the endpoint let in, lowered with each further
      refusal until an answer arrives (levels say little here: connections set up in parallel
      reach the endpoint in any order).
    - Once capped, a request refused when sent with ``k`` requests in flight (itself included)
      while none sent at ``k`` or more was answered (this block or the last) shows a cap below
      ``k``: the limit drops to ``k - 1``. Random refusals, at levels that also get answers,
      do not. A concurrency cap ``N`` thus holds the limit at ``N``, probing ``N + 1`` after 8,
      16, 32, then every 64 round trips.
    - Latency: the limit stops growing while the smoothed round trip exceeds 1.5 times its
      lowest value so far (+50 ms), and is cut by ``decrease`` past twice that (+0.1 s).
    - ``hold=s`` keeps a finished request's slot taken ``s`` seconds more (a refused request
      waiting for its retry), so instant refusals cannot spin.
    - The process reading late (:meth:`on_lag`): while the request loop runs ``lag`` seconds
      behind (busy, or starved of CPU), answers arriving meanwhile wait unread in the socket, and
      a ``kill -9`` loses them. The limit is brought down to ``backlog * round_trip / lag``
      (at least ``backlog_floor``): about ``backlog`` answers arrive within one lag. A fast
      endpoint and a starved client only: at 3 s per answer and 50 ms of lag that is 600.

    >>> limit = AdaptiveLimit(initial=8, maximum=64)
    >>> for overloaded in [False] * 8 + [True] * 2 + [False] * 6:  # 2 of 16: random faults
    ...     generation, level = limit.on_send(now=0.0)
    ...     limit.on_finish(generation, level, overloaded, not overloaded, 0.2, now=0.2)
    >>> limit.limit, limit.capped  # slow start: +2 per answer, no cut
    (36.0, False)
    """

    block_minimum = 16
    slow_start_growth = 2.0
    capped_growth = 0.125
    #: The slowest probing of a confirmed cap: +1 per 64 round trips.
    probe_growth_minimum = capped_growth / 8
    #: Answers that may arrive within one lag of the process (see :meth:`on_lag`).
    backlog = 10.0
    backlog_floor = 8.0

    def __init__(
        self, initial: int, maximum: int, decrease: float = 0.7, threshold: float = 0.25
    ) -> None:
        self.maximum = max(1, int(maximum))
        self.initial = min(max(1, int(initial)), self.maximum)
        self.limit = float(self.initial)
        self.decrease, self.threshold = decrease, threshold
        self.in_flight = self.peak = self.cuts = 0
        self.capped = False
        self._held: list[float] = []  # heap: when the slots kept by refused requests free up
        self.round_trip = 0.0
        self.baseline: float | None = None
        self._answers = 0
        self._slow_start = True
        self._done = self._overloaded = 0  # the current block
        self._lowest: int | None = None  # the lowest level refused in the current block
        self._top = self._top_before = 0  # the highest level answered: this block, the last one
        self._cap: int | None = None  # the level below the last refused probe (once capped)
        self._probe_growth = self.capped_growth

    def set_maximum(self, maximum: int) -> None:
        self.maximum = max(1, int(maximum))
        self.limit = min(self.limit, float(self.maximum))

    def free(self, now: float) -> bool:
        """Whether one more request may be sent now."""
        while self._held and self._held[0] <= now:
            heapq.heappop(self._held)
        return self.in_flight + len(self._held) < int(self.limit)

    def next_release(self) -> float | None:
        """When the earliest held slot frees up (None: none held)."""
        return self._held[0] if self._held else None

    def on_send(self, now: float) -> tuple[int, int]:
        """Take a slot; returns (cut generation, requests in flight with this one)."""
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        return self.cuts, self.in_flight

    def on_lag(self, lag: float) -> None:
        """The request loop runs ``lag`` seconds late: keep the answers arriving within one lag
        (in flight / round trip x lag) under :attr:`backlog`, by lowering the limit.

            >>> limit = AdaptiveLimit(initial=256, maximum=256)
            >>> limit.round_trip = 0.2  # 200 ms answers
            >>> limit.on_lag(0.005); limit.limit  # 5 ms late: 400 would be allowed
            256.0
            >>> limit.on_lag(0.05); limit.limit  # 50 ms late: 10 answers per 50 ms
            40.0
        """
        if lag <= 0 or not self.round_trip:
            return
        ceiling = max(self.backlog_floor, self.backlog * self.round_trip / lag)
        if ceiling < self.limit:
            self.limit = ceiling
            self._slow_start = False  # grow again one per round trip, not in bursts

    def _cut(self, factor: float, below: float | None = None) -> None:
        limit = self.limit * factor
        if below is not None:  # the lowest level refused: a cap is below it
            # every answer of the block came from below every refusal: a cap right below them;
            # refusals mixed with answers (a busy provider) cut at most to a quarter
            floor = 1.0 if 0 < self._top < below else 0.25 * self.limit
            limit = min(limit, max(below - 1, floor))
        self.limit = max(1.0, limit)
        self.cuts += 1
        self._slow_start = False
        self._done = self._overloaded = 0
        self._lowest = None

    def on_finish(
        self,
        generation: int,
        level: int,
        overloaded: bool,
        answered: bool,
        seconds: float,
        now: float,
        hold: float = 0.0,
    ) -> None:
        """Account one finished request (sent in cut ``generation`` with ``level`` in flight)."""
        self.in_flight -= 1
        if hold > 0:
            heapq.heappush(self._held, now + hold)
        if answered:
            self.round_trip = (
                seconds if not self.round_trip else 0.8 * self.round_trip + 0.2 * seconds
            )
            self._answers += 1
            if self._answers >= 4:  # lowest smoothed round trip: no queueing
                self.baseline = min(self.baseline or self.round_trip, self.round_trip)
        first_window = not self._answers  # nothing answered yet on this limit
        if overloaded and first_window and self.capped:
            # refused before any answer, after the first-window cut: what is still out got in
            self.limit = max(1.0, min(self.limit, float(self.in_flight)))
            return
        if answered:
            self._top = max(self._top, level)
            # the cap moved up (two above it: one above also gets through when an answer is
            # still on its way back after the endpoint counted it done): probe as before
            if self._cap is not None and level > self._cap + 1:
                self._cap, self._probe_growth = None, self.capped_growth
        elif (
            overloaded
            and self.capped
            and generation == self.cuts
            and level > max(self._top, self._top_before) > 0
        ):
            if self._cap is not None and level == self._cap + 1:  # the same cap, refused again
                self._probe_growth = max(self._probe_growth / 2, self.probe_growth_minimum)
            self._cap = level - 1 if self._cap is None else min(self._cap, level - 1)
            self.limit = min(self.limit, max(float(level - 1), 1.0))
        block = max(self.limit, self.block_minimum)
        baseline = self.baseline
        if generation == self.cuts:  # sent after the last cut
            self._done += 1
            self._overloaded += int(overloaded)
            if overloaded:
                self._lowest = level if self._lowest is None else min(self._lowest, level)
            if self._overloaded > self.threshold * block and first_window:
                self._cut(1.0)
                self.limit = max(1.0, min(self.limit, float(self.in_flight)))
                self.capped = True
            elif self._overloaded > self.threshold * block:
                self._cut(max(0.5, 1.0 - self._overloaded / self._done), self._lowest)
                self.capped = True
            elif baseline is not None and self.round_trip > 2 * baseline + 0.1:
                self._cut(self.decrease)
            elif self._done >= block:
                self._done = self._overloaded = 0
                self._lowest = None
                self._top_before, self._top = self._top, 0
        if (
            answered
            and generation == self.cuts
            and baseline is not None
            and (
                self.round_trip > 1.5 * baseline + 0.05
                or (self._slow_start and seconds > 1.5 * baseline + 0.05)
            )
        ):
            self._slow_start = False  # queueing: hold the limit
        elif answered and generation == self.cuts:
            step = self.slow_start_growth if self._slow_start else 1.0 / self.limit
            if self.capped:
                step *= self._probe_growth
            self.limit = min(float(self.maximum), self.limit + step)


class CircuitBreaker:
    """Stops sending to an endpoint that does not answer at all.

    After ``threshold`` consecutive failures that show the endpoint unreachable (timeouts,
    connection errors) with no answer in between, it opens: nothing more is sent, and every row
    still waiting ends ``endpoint_unavailable`` with :attr:`reason`. Any answer (even an HTTP
    error) closes it. A new run on an open breaker sends one probe request first: the other rows
    wait for it, and are sent if it is answered.

    >>> breaker = CircuitBreaker(threshold=2)
    >>> breaker.on_result(False, "timeout"); breaker.state
    'closed'
    >>> breaker.on_result(False, "no answer from api.example.com within 5 s"); breaker.state
    'open'
    >>> breaker.new_run(); breaker.allow(), breaker.allow()
    ('probe', 'wait')
    """

    def __init__(self, threshold: int = 5) -> None:
        self.threshold = max(1, int(threshold))
        self.failures = 0
        self.state = "closed"  # closed | open | half_open
        self.reason: str | None = None
        self._probing = False

    def allow(self) -> str:
        """``send``, ``probe`` (send: the one request that tests an open endpoint), ``wait``
        (a probe is in flight) or ``refuse`` (open)."""
        if self.state == "closed":
            return "send"
        if self.state == "half_open":
            if self._probing:
                return "wait"
            self._probing = True
            return "probe"
        return "refuse"

    def on_result(self, answered: bool, reason: str | None = None) -> None:
        """Account a finished request: answered (any HTTP answer) or failed ``unreachable``."""
        self._probing = False
        if answered:
            self.failures, self.state, self.reason = 0, "closed", None
            return
        self.failures += 1
        if self.state == "half_open" or self.failures >= self.threshold:
            self.state = "open"
            self.reason = reason

    def on_other_failure(self) -> None:
        """A probe that ended without telling anything (cancelled): let another probe go."""
        self._probing = False

    def new_run(self) -> None:
        if self.state == "open":
            self.state = "half_open"
