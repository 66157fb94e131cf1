"""Pacing to an endpoint's request and token rate limits, before it refuses.

Two token buckets, requests per minute and tokens per minute, refilled continuously (as OpenAI
and Azure OpenAI enforce them). Their rates come from the user (``rpm=``, ``tpm=``) and from the
endpoint's own headers on every answer: ``x-ratelimit-limit-requests`` / ``-tokens`` set the
rate (the lower of the user's and the endpoint's wins), ``x-ratelimit-remaining-*`` bring the
bucket down to what the endpoint says is left (minus what was sent since that request left),
and when nothing is left and no rate is known, ``x-ratelimit-reset-*`` says when to send again.
A 429 whose headers say a bucket is empty (or whose ``Retry-After`` comes with such headers)
pauses the whole endpoint until then, not only the refused row. Each bucket holds at most one
second of its rate (at least one request's worth), so a burst never exceeds that.

A request's token cost is what providers charge against the limit: its estimated prompt tokens
(characters x the tokens-per-character ratio seen in answers' ``usage``, 1/4 until then) plus
``max_tokens`` (else the mean completion seen).

    >>> pacer = Pacer(rpm=120)  # 2 per second, a burst of 2
    >>> pacer.delay(0, now=0.0), pacer.take(0, now=0.0), pacer.take(0, now=0.0)
    (0.0, (1.0, 0.0, 0.0), (2.0, 0.0, 0.0))
    >>> pacer.delay(0, now=0.0)  # empty: the next one in half a second
    0.5
"""

from __future__ import annotations

from mlflow_llm_eval.chat.types import RateInfo


class _Bucket:
    """A token bucket: ``rate`` per second, at most ``rate`` (>= ``minimum``) stored."""

    def __init__(self) -> None:
        self.rate: float | None = None
        self.level = 0.0
        self.stamp: float | None = None
        self.taken = 0.0  # everything ever taken (to discount what left after a header)
        self.blocked_until = 0.0

    def capacity(self, cost: float) -> float:
        return max(self.rate or 0.0, cost, 1.0)

    def set_rate(self, rate: float | None, now: float) -> None:
        if rate == self.rate:
            return
        self._refill(now)
        if self.rate is None and rate is not None:
            self.level = rate  # a new limit starts full (one second's worth)
        self.rate = rate
        self.stamp = now

    def _refill(self, now: float) -> None:
        if self.rate is not None and self.stamp is not None:
            self.level = min(self.capacity(0), self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    def delay(self, cost: float, now: float) -> float:
        wait = max(0.0, self.blocked_until - now)
        if self.rate is None:
            return wait
        self._refill(now)
        need = min(cost, self.capacity(cost))
        if self.level >= need - 1e-9:  # float refill must not leave a 1e-17 s wait
            return wait
        return max(wait, (need - self.level) / self.rate)

    def take(self, cost: float, now: float) -> None:
        self.taken += cost
        if self.rate is not None:
            self._refill(now)
            self.level -= cost

    def observe(
        self,
        remaining: float | None,
        reset: float | None,
        taken_before: float,
        sent_at: float,
        now: float,
    ) -> None:
        """The endpoint said ``remaining`` when a request that left at ``sent_at`` arrived
        (``taken_before`` = our :attr:`taken` then, its own cost included)."""
        if remaining is None:
            return
        left = remaining - (self.taken - taken_before)  # minus what we sent after it
        if self.rate is not None:
            self._refill(now)
            left += (now - sent_at) * self.rate  # refilled since
            self.level = min(self.level, left)
        elif left <= 0 and reset:
            self.blocked_until = max(self.blocked_until, now + reset)


class Pacer:
    """Request and token buckets of one endpoint (see the module docstring)."""

    def __init__(self, rpm: float | None = None, tpm: float | None = None) -> None:
        self.requests, self.tokens = _Bucket(), _Bucket()
        self.user_rpm, self.user_tpm = rpm, tpm
        self.header_rpm: float | None = None
        self.header_tpm: float | None = None
        self.paused_until = 0.0
        self._chars = self._prompt_tokens = 0.0
        self._completions = self._answers = 0.0
        self._apply(0.0)

    def configure(self, rpm: float | None, tpm: float | None, now: float) -> None:
        self.user_rpm, self.user_tpm = rpm, tpm
        self._apply(now)

    def _apply(self, now: float) -> None:
        def lower(*values: float | None) -> float | None:
            known = [v for v in values if v]
            return min(known) / 60.0 if known else None

        self.requests.set_rate(lower(self.user_rpm, self.header_rpm), now)
        self.tokens.set_rate(lower(self.user_tpm, self.header_tpm), now)

    @property
    def rpm(self) -> float | None:
        return None if self.requests.rate is None else self.requests.rate * 60

    @property
    def tpm(self) -> float | None:
        return None if self.tokens.rate is None else self.tokens.rate * 60

    def cost(self, prompt_chars: int, max_tokens: float | None) -> float:
        """Estimated tokens a request is charged against the token limit."""
        ratio = self._prompt_tokens / self._chars if self._chars else 0.25
        completion = (
            max_tokens
            if max_tokens is not None
            else (self._completions / self._answers if self._answers else 0.0)
        )
        return prompt_chars * ratio + completion

    def delay(self, cost: float, now: float) -> float:
        """Seconds to wait before a request of ``cost`` tokens may leave (0: now)."""
        return max(
            self.paused_until - now,
            self.requests.delay(1.0, now),
            self.tokens.delay(cost, now),
            0.0,
        )

    def take(self, cost: float, now: float) -> tuple[float, float, float]:
        """Charge one request; returns the counters (and time) to hand back to :meth:`observe`."""
        self.requests.take(1.0, now)
        self.tokens.take(cost, now)
        return self.requests.taken, self.tokens.taken, now

    def observe(
        self,
        rate: RateInfo | None,
        sent: tuple[float, float, float],
        now: float,
        *,
        refused: bool = False,
        prompt_chars: int = 0,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
    ) -> None:
        """Learn from one finished request: its headers, and its usage (token ratio)."""
        if prompt_tokens and prompt_chars:
            self._chars += prompt_chars
            self._prompt_tokens += prompt_tokens
            self._completions += completion_tokens
            self._answers += 1
        if rate is None:
            return
        changed = False
        if rate.limit_requests and rate.limit_requests != self.header_rpm:
            self.header_rpm, changed = rate.limit_requests, True
        if rate.limit_tokens and rate.limit_tokens != self.header_tpm:
            self.header_tpm, changed = rate.limit_tokens, True
        if changed:
            self._apply(now)
        self.requests.observe(rate.remaining_requests, rate.reset_requests, sent[0], sent[2], now)
        self.tokens.observe(rate.remaining_tokens, rate.reset_tokens, sent[1], sent[2], now)
        exhausted = (rate.remaining_requests is not None and rate.remaining_requests < 1) or (
            rate.remaining_tokens is not None and rate.remaining_tokens <= 0
        )
        if refused and rate.retry_after is not None and exhausted:
            self.paused_until = max(self.paused_until, now + rate.retry_after)
