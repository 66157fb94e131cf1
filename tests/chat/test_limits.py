"""The pure pacing / limit / breaker state, driven with an injected clock (no waiting, no threads)."""

from __future__ import annotations

import pytest

from mlflow_llm_eval.chat.endpoint import Ticket
from mlflow_llm_eval.chat.limits import AdaptiveLimit, CircuitBreaker
from mlflow_llm_eval.chat.pacing import Pacer
from mlflow_llm_eval.chat.types import RateInfo, parse_duration


def _finish(
    limit: AdaptiveLimit,
    overloaded: bool,
    now: float = 0.0,
    seconds: float = 0.1,
    sent: tuple[int, int] | None = None,
    hold: float = 0.0,
) -> None:
    generation, level = limit.on_send(now) if sent is None else sent
    limit.on_finish(generation, level, overloaded, not overloaded, seconds, now, hold)


def test_slow_start_random_refusals_and_a_cut():
    limit = AdaptiveLimit(initial=16, maximum=64)
    for overloaded in [True, False, False, False] * 4:  # 25% refused: no cut, still slow start
        _finish(limit, overloaded)
    assert limit.limit == 16 + 2 * 12 and limit.cuts == 0 and not limit.capped  # +2 per answer
    burst = [limit.on_send(0.0) for _ in range(20)]  # 20 in flight (levels 1..20), all refused
    for sent in burst:
        _finish(limit, True, sent=sent)
    # cut once, when 11 of the block's 23 (over 25% of 40) were refused: x max(0.5, 1 - 11/23),
    # and below the lowest refused level (1) but not under a quarter of 40
    assert limit.cuts == 1 and limit.capped
    assert limit.limit == pytest.approx(10.0)
    _finish(limit, False)  # capped: +1/8 per round trip
    assert limit.limit == pytest.approx(10.0 + 0.125 / 10.0)


def test_a_concurrency_cap_holds_the_limit_at_the_cap():
    """A server that refuses every request above 6 in flight: after the first overshoot the
    limit sits at 6, and probes 7 about once per 8 round trips."""
    cap, limit = 6, AdaptiveLimit(initial=32, maximum=256)
    refused = sent = 0
    now = 0.0
    for _ in range(200):  # round trips
        flying = []
        while limit.free(now):
            flying.append(limit.on_send(now))
        for generation, level in flying:
            over = level > cap
            refused += over
            sent += 1
            limit.on_finish(generation, level, over, not over, 0.1, now)
        now += 0.1
    assert 6 <= limit.limit < 8
    # after the first window of 32 (26 refused): probes of 7 after 8, 16, 32, then every 64
    # round trips (~70 rounds of the 200 here), a handful refused
    assert refused - 26 <= 8


def test_a_confirmed_cap_is_probed_less_often_until_it_moves():
    """Each probe refused at the same level halves the probing rate (8, 16, 32, 64 round
    trips); an answer above the cap restores it."""
    cap, limit = 6, AdaptiveLimit(initial=32, maximum=256)
    now, probes = 0.0, []
    for round_trip in range(400):
        flying = []
        while limit.free(now):
            flying.append(limit.on_send(now))
        for generation, level in flying:
            over = level > cap
            if over and round_trip > 1:  # past the first overshoot
                probes.append(round_trip)
            limit.on_finish(generation, level, over, not over, 0.1, now)
        now += 0.1
    gaps = [b - a for a, b in zip(probes, probes[1:])]
    assert len(probes) >= 5 and gaps == sorted(gaps)  # ever longer apart
    assert gaps[0] <= 12 and all(40 <= g <= 80 for g in gaps[3:])  # ~8 ... then ~64
    # the endpoint now takes more: once a level two above the old cap is answered (~2 probe
    # periods of 64 round trips), growth is back to +1 per 8 round trips, up to the new cap
    cap = 12
    for _ in range(300):
        flying = []
        while limit.free(now):
            flying.append(limit.on_send(now))
        for generation, level in flying:
            over = level > cap
            limit.on_finish(generation, level, over, not over, 0.1, now)
        now += 0.1
    assert 11 <= limit.limit < 13


def test_queueing_server_stops_growth():
    slow = AdaptiveLimit(initial=4, maximum=64)
    for seconds in [0.1] * 4 + [1.0] * 20:  # answers slow down to 10x the baseline: queueing
        _finish(slow, False, seconds=seconds)
    assert slow.baseline == pytest.approx(0.1) and slow.limit < 8


def test_held_slots_free_up_at_their_time():
    held = AdaptiveLimit(initial=2, maximum=2)
    _finish(held, True, now=10.0, hold=0.3)  # a refused request keeps its slot while it waits
    held.on_send(10.0)
    assert not held.free(10.2) and held.next_release() == pytest.approx(10.3)
    assert held.free(10.31)


def test_rate_headers_and_durations():
    info = RateInfo.from_headers({"x-ratelimit-limit-tokens": "30000", "retry-after-ms": "250"})
    assert (info.limit_tokens, info.retry_after) == (30000.0, 0.25)
    assert RateInfo.from_headers({"content-type": "json"}) is None
    assert parse_duration("1h2m3.5s") == pytest.approx(3723.5)
    assert parse_duration("20ms") == pytest.approx(0.02) and parse_duration("6m0s") == 360.0


def test_pacer_rpm_spaces_requests_at_the_rate():
    pacer = Pacer(rpm=600)  # 10/s, a burst of 10
    now, sent = 0.0, []
    while now < 3.0:
        wait = pacer.delay(0, now)
        if wait == 0:
            pacer.take(0, now)
            sent.append(now)
        else:
            now += wait
    assert 10 + 29 <= len(sent) <= 10 + 30  # the burst, then 10/s for 3 s
    gaps = [b - a for a, b in zip(sent[10:], sent[11:])]
    assert min(gaps) == pytest.approx(0.1)


def test_pacer_learns_the_limit_and_what_is_left_from_headers():
    pacer = Pacer()
    assert pacer.delay(500, 0.0) == 0 and pacer.rpm is None
    sent = pacer.take(500, 0.0)
    for _ in range(3):  # three more left before the first answer
        pacer.take(500, 0.0)
    pacer.observe(
        RateInfo(
            limit_requests=120, remaining_requests=1, limit_tokens=60000, remaining_tokens=40000
        ),
        sent,
        0.0,
    )
    assert (pacer.rpm, pacer.tpm) == (120, 60000)
    # the endpoint had 1 request left when ours left; 3 more went after it: 2 short, and one
    # more needed, at 2 per second
    assert pacer.delay(0, 0.0) == pytest.approx(1.5)
    pacer.configure(60, None, 0.0)  # the user's rpm is lower: it wins
    assert pacer.rpm == 60


def test_pacer_token_cost_and_token_limit():
    pacer = Pacer(tpm=6000)  # 100 tokens/s
    assert pacer.cost(400, 50) == pytest.approx(400 / 4 + 50)  # 4 characters a token until told
    pacer.observe(None, (0, 0, 0.0), 0.0, prompt_chars=400, prompt_tokens=200, completion_tokens=7)
    assert pacer.cost(400, None) == pytest.approx(200 + 7)  # the usage seen: 2 chars a token
    pacer.take(100, 0.0)
    assert pacer.delay(150, 0.0) == pytest.approx(1.5)  # 150 tokens at 100/s, bucket empty


def test_pacer_pauses_the_endpoint_on_an_exhausted_429():
    pacer = Pacer()
    sent = pacer.take(1, 0.0)
    pacer.observe(RateInfo(remaining_requests=0, retry_after=2.0), sent, 0.0, refused=True)
    assert pacer.delay(1, 0.5) == pytest.approx(1.5)
    other = Pacer()  # a 429 with Retry-After but requests left (a random refusal): no pause
    other.observe(
        RateInfo(remaining_requests=50, retry_after=2.0), other.take(1, 0.0), 0.0, refused=True
    )
    assert other.delay(1, 0.5) == 0


def test_breaker_opens_after_consecutive_unreachable_and_probes_on_a_new_run():
    breaker = CircuitBreaker(threshold=3)
    for _ in range(2):
        breaker.on_result(False, "no answer from h:1 within 2 s")
    breaker.on_result(True)  # an answer in between resets the count
    for _ in range(2):
        breaker.on_result(False, "x")
    assert breaker.state == "closed" and breaker.allow() == "send"
    breaker.on_result(False, "connection error to h:1")
    assert breaker.state == "open" and breaker.allow() == "refuse"
    assert breaker.reason == "connection error to h:1"
    breaker.new_run()
    assert [breaker.allow(), breaker.allow()] == ["probe", "wait"]
    breaker.on_result(False, "still down")  # the probe failed: open again at once
    assert breaker.allow() == "refuse"
    breaker.new_run()
    breaker.allow()
    breaker.on_result(True)
    assert breaker.allow() == "send"


def test_a_first_window_refused_above_a_cap_keeps_what_got_in():
    """A first window of 32 at a cap of 4: 28 refusals come back at once (from any levels:
    connections reach the endpoint in any order), the 4 admitted answer later. The limit ends
    at the 4 still out, not at a quarter of 32 or below the lowest refused level."""
    limit = AdaptiveLimit(initial=32, maximum=256)
    window = [limit.on_send(0.0) for _ in range(32)]
    admitted = {3, 17, 25, 30}  # in-flight levels of the 4 the endpoint let in
    for generation, level in window:
        if level not in admitted:
            limit.on_finish(generation, level, True, False, 0.001, 0.001)
    assert limit.capped and limit.limit == 4
    for generation, level in window:
        if level in admitted:
            limit.on_finish(generation, level, False, True, 0.2, 0.2)
    assert 4 <= limit.limit < 4.2  # capped growth: +1/8 per round trip


def test_random_refusals_in_the_first_window_do_not_cap():
    """10% refused at once in the first window (a busy provider, not a cap): no cut."""
    limit = AdaptiveLimit(initial=32, maximum=256)
    window = [limit.on_send(0.0) for _ in range(32)]
    for generation, level in window[:3]:
        limit.on_finish(generation, level, True, False, 0.001, 0.001)
    for generation, level in window[3:]:
        limit.on_finish(generation, level, False, True, 0.2, 0.2)
    assert not limit.capped and limit.cuts == 0 and limit.limit == 32 + 2 * 29


def test_a_late_loop_holds_the_answers_that_may_wait_unread_few():
    """While the process reads answers ``lag`` seconds late, about ``backlog`` (10) answers may
    arrive within one lag: in flight <= 10 x round trip / lag, at least 8; no lag, no limit.
    Then the limit grows again by one per round trip, not in slow start's bursts."""
    limit = AdaptiveLimit(initial=32, maximum=256)
    for _ in range(150):  # 200 ms answers, no lag: slow start to the ceiling
        _finish(limit, False, seconds=0.2)
        limit.on_lag(0.0)
    assert limit.limit == 256
    limit.on_lag(0.002)  # 2 ms late: 1000 would do, the ceiling holds
    assert limit.limit == 256
    limit.on_lag(0.05)  # 50 ms late: 10 answers per 50 ms at 200 ms each
    assert limit.limit == pytest.approx(10 * 0.2 / 0.05)
    limit.on_lag(2.0)  # a 2 s stall: not below 8
    assert limit.limit == 8
    _finish(limit, False, seconds=0.2)
    assert limit.limit == pytest.approx(8 + 1 / 8)  # one per round trip


def test_the_endpoint_applies_the_loop_lag_on_each_answer():
    """``EndpointState.release`` hands the measured lag of the request loop to the limit."""
    from mlflow_llm_eval.chat.endpoint import EndpointState, RunSettings

    now = [0.0]
    state = EndpointState("lagged", clock=lambda: now[0])
    state.limit = AdaptiveLimit(256, 256)
    state._runs[0] = RunSettings(256, 256)  # joined without starting the loop's timer
    for _ in range(8):  # 200 ms answers
        ticket = Ticket(
            *state.limit.on_send(now[0]), sent=(0.0, 0.0, 0.0), started=now[0], probe=False
        )
        now[0] += 0.2
        state.release(ticket, answered=True)
    assert state.limit.limit == 256
    state.lag.value = 0.1  # the loop runs 100 ms late
    ticket = Ticket(*state.limit.on_send(now[0]), sent=(0.0, 0.0, 0.0), started=now[0], probe=False)
    now[0] += 0.2
    state.release(ticket, answered=True)
    assert state.limit.limit == pytest.approx(10 * 0.2 / 0.1)
