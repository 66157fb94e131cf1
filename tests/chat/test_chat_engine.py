"""The request engine end to end: pacing from headers and rpm/tpm against the fake server's
buckets, the circuit breaker, the deadline, and one shared limit per endpoint across threads.
Assertions use the server's counters, the engine's accounting and an injected clock for the
endpoint's pacing, never wall time; every wait is bounded."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from support.fake_openai import FakeOpenAI

from mlflow_llm_eval.chat import CallError, ChatEngine, Completion, make_client
from mlflow_llm_eval.chat.endpoint import EndpointState, _states, forget
from mlflow_llm_eval.chat.loop import submit


@pytest.fixture()
def server(monkeypatch: pytest.MonkeyPatch):
    forget()
    with FakeOpenAI(responder=lambda prompt: "fine") as fake:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-engine")
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        monkeypatch.delenv("OPENAI_API_BASE", raising=False)
        yield fake
    forget()


def _requests(n: int, words: int = 1, tag: str = "") -> list[list[dict]]:
    return [[{"role": "user", "content": " ".join([f"{tag}q{i}"] * words)}] for i in range(n)]


def _until(predicate, what: str, limit: float = 30.0) -> None:
    """Wait (bounded) until ``predicate()`` holds."""
    ends = time.monotonic() + limit
    while not predicate():
        assert time.monotonic() < ends, f"not within {limit:g} s: {what}"
        threading.Event().wait(0.01)


def _waiting(state) -> int:
    """Requests of ``state`` waiting for their turn (read on the request loop)."""

    async def count() -> int:
        return sum(1 for future, _, _ in state._waiters if not future.done())

    return submit(count()).result(10)


class _Paced:
    """A run in a thread against an endpoint whose state runs on an injected clock, frozen
    until the test moves it: what the pacer lets out is then a count, not a speed."""

    def __init__(self, server: FakeOpenAI, rows: int, parameters: dict, **options) -> None:
        self.now = [1000.0]
        client = make_client("openai:/m", timeout=30)
        _states[client.identity] = EndpointState(client.identity, clock=lambda: self.now[0])
        self.state, self.server, self.rows = _states[client.identity], server, rows
        engine = ChatEngine(client, progress=False, **options)
        self.replies: list = []
        self.thread = threading.Thread(
            target=lambda: self.replies.extend(
                engine.run(_requests(rows, words=parameters.pop("words", 1)), parameters)
            )
        )
        self.thread.start()

    def settle(self, more_than: int = 0) -> int:
        """Wait until more than ``more_than`` requests were sent and every other is waiting
        for the pacer; how many were sent."""

        def settled() -> bool:
            sent = self.server.stats()["statuses"].get(200, 0)
            return (
                sent > more_than
                and sent == len(self.server.requests)
                and sent + _waiting(self.state) == self.rows
            )

        _until(settled, "the pacer holds the rest")
        return len(self.server.requests)

    def finish(self) -> list:
        self.now[0] += 3600.0
        for _ in range(self.rows):
            if not self.thread.is_alive():
                break
            self.now[0] += 3600.0
            self.thread.join(0.5)
        self.thread.join(30)
        assert not self.thread.is_alive()
        return self.replies


def test_user_rpm_paces_from_the_first_request(server: FakeOpenAI):
    """rpm=600: 10 a second, a burst of 10. With the endpoint's clock frozen exactly the burst
    leaves; half a second later 5 more; then the rest as the clock moves."""
    paced = _Paced(server, 30, {}, rpm=600)
    try:
        assert paced.settle() == 10
        paced.now[0] += 0.5
        assert paced.settle(more_than=10) == 15
    finally:
        replies = paced.finish()
    assert Counter(r.status for r in replies) == {"ok": 30}
    assert len(server.requests) == 30


def test_token_limit_paces_by_estimated_tokens(server: FakeOpenAI):
    """tpm=60000 (1000 tokens a second, a burst of 1000): each request costs its estimated
    prompt tokens plus max_tokens 50, so at most 20 leave before the clock moves."""
    paced = _Paced(server, 40, {"max_tokens": 50, "words": 50}, tpm=60000)
    try:
        first = paced.settle()
        assert 1 <= first <= 1000 // 50
        paced.now[0] += 1.0  # another second's worth
        assert paced.settle(more_than=first) <= first + 1000 // 50
    finally:
        replies = paced.finish()
    assert Counter(r.status for r in replies) == {"ok": 40}


def test_rate_limit_headers_are_learned(server: FakeOpenAI):
    """The server's x-ratelimit headers (rpm 1200) set the endpoint's pace without any user
    setting; every row ends ok and each 429 is counted. (How few are refused at speed is the
    benchmark's question: benchmarks/bench_judge.py.)"""
    server.rpm = 1200
    client = make_client("openai:/m", timeout=10)
    engine = ChatEngine(client, progress=False)
    replies = engine.run(_requests(60), {})
    assert Counter(r.status for r in replies) == {"ok": 60}
    assert engine.stats.refused == server.stats()["statuses"].get(429, 0)
    assert _states[client.identity].pacer.rpm == 1200
    assert server.requests[-1].rate_headers["x-ratelimit-limit-requests"] == "1200"


class _Hanging:
    """A client whose every request times out (as a hanging endpoint after its timeout)."""

    identity, json_mode, host = "hanging", False, "judge.example.com"

    def __init__(self) -> None:
        self.calls = 0

    def complete(self, messages, parameters):
        self.calls += 1
        raise CallError("timeout", "no answer from judge.example.com within 2 s", unreachable=True)


def test_breaker_ends_a_run_on_a_hanging_endpoint():
    forget()
    client = _Hanging()
    engine = ChatEngine(
        client, progress=False, initial_concurrency=4, breaker_threshold=5, backoff_base=0.001
    )
    replies = engine.run(_requests(400), {})
    statuses = Counter(r.status for r in replies)
    assert set(statuses) <= {"timeout", "endpoint_unavailable"}
    assert statuses["endpoint_unavailable"] >= 400 - 4 - 5
    # the first window, then at most the retries already under way when it opened
    assert client.calls <= 5 + 4
    reason = next(r.reason for r in replies if r.status == "endpoint_unavailable")
    assert "judge.example.com" in reason and "timeouts or connection errors in a row" in reason
    assert "sk-" not in reason
    # a new run sends one probe first; it times out too, so nothing more is sent
    again = ChatEngine(client, progress=False, breaker_threshold=5).run(_requests(50), {})
    assert client.calls <= 5 + 4 + 1
    assert Counter(r.status for r in again)["endpoint_unavailable"] >= 49


def test_unreachable_server_trips_the_breaker_and_names_the_host(monkeypatch):
    forget()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-never-shown-0000")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens there
    engine = ChatEngine(make_client("openai:/m", timeout=5), progress=False, backoff_base=0.001)
    replies = engine.run(_requests(100), {})
    statuses = Counter(r.status for r in replies)
    assert statuses["endpoint_unavailable"] >= 100 - 32 - 5
    assert engine.stats.requests <= 32 + 5
    assert all("127.0.0.1:9" in r.reason and "sk-never-shown" not in r.reason for r in replies)


class _AnswersThenHangs:
    """Answers the first ``n`` requests, then never answers (until released)."""

    identity, json_mode = "answers-then-hangs", False

    def __init__(self, n: int) -> None:
        self.n, self.calls, self.release = n, 0, threading.Event()
        self._lock = threading.Lock()

    def complete(self, messages, parameters):
        with self._lock:
            self.calls += 1
            mine = self.calls
        if mine > self.n:
            self.release.wait(30)
        return Completion("answer")


def test_deadline_ends_rows_not_done():
    """Five answers come at once, then the client hangs: whatever the machine's speed, every
    row is either answered (ok) or ended by the deadline, none lost, and the rows ended are the
    ones never answered."""
    forget()
    client = _AnswersThenHangs(5)
    engine = ChatEngine(
        client, progress=False, initial_concurrency=1, max_concurrency=1, deadline=0.5
    )
    try:
        replies = engine.run(_requests(20), {})
    finally:
        client.release.set()
    statuses = [r.status for r in replies]
    assert set(statuses) <= {"ok", "deadline_exceeded"} and len(statuses) == 20
    answered = statuses.count("ok")
    assert answered <= 5 and statuses[:answered] == ["ok"] * answered  # one at a time, in order
    assert engine.stats.deadline_exceeded == 20 - answered >= 15
    assert "deadline of 0.5 s" in replies[-1].reason


class _Counting:
    """Counts requests in flight across every engine using it; blocks until released.
    ``full`` is set when ``expected`` are in flight at once."""

    identity, json_mode = "shared-endpoint", False

    def __init__(self, expected: int) -> None:
        self.in_flight = self.peak = 0
        self._lock = threading.Lock()
        self.gate = threading.Semaphore(0)
        self.full, self.expected = threading.Event(), expected

    def complete(self, messages, parameters):
        with self._lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            if self.in_flight >= self.expected:
                self.full.set()
        assert self.gate.acquire(timeout=30)
        with self._lock:
            self.in_flight -= 1
        return Completion("ok")


def test_runs_from_several_threads_share_one_limit_per_endpoint():
    """Four threads judge at once against one endpoint: one limit (4 in flight at first) holds
    for all of them, not 4 per run."""
    forget()
    client = _Counting(4)
    results: list[list] = []

    def one() -> None:
        engine = ChatEngine(client, progress=False, initial_concurrency=4, max_concurrency=4)
        results.append(engine.run(_requests(10), {}))

    threads = [threading.Thread(target=one) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        assert client.full.wait(30)  # the shared limit is full
        assert len(_states["shared-endpoint"]._runs) >= 1
    finally:
        for _ in range(40):
            client.gate.release()
        for thread in threads:
            thread.join(30)
    assert sorted(len(r) for r in results) == [10] * 4
    assert all(reply.status == "ok" for run in results for reply in run)
    assert client.peak == 4  # never more than the one limit, whatever the number of runs


def test_a_run_changes_no_process_wide_state():
    """No gc.freeze (or other gc setting), signal handler or logging factory is changed while a
    run goes or after it (issue 17, part 8)."""
    import gc
    import logging
    import signal

    def snapshot():
        return (
            gc.get_freeze_count(),
            gc.isenabled(),
            gc.get_threshold(),
            logging.getLogRecordFactory(),
            signal.getsignal(signal.SIGINT),
        )

    seen = []

    class Watching:
        identity, json_mode = "watching", False

        def complete(self, messages, parameters):
            seen.append(snapshot())
            return Completion("x", 1, 1)

    forget()
    before = snapshot()
    ChatEngine(Watching(), progress=False).run([[{"role": "user", "content": "a"}]] * 3, {})
    assert seen and set(seen) == {before} and snapshot() == before
