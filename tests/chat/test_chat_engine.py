"""The request engine end to end: pacing from headers and rpm/tpm against the fake server's
buckets, the circuit breaker, the deadline, and one shared limit per endpoint across threads.
Assertions use the server's counters and the engine's accounting, never wall time."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from support.fake_openai import FakeOpenAI

from mlflow_llm_eval.chat import CallError, ChatEngine, Completion, make_client
from mlflow_llm_eval.chat.endpoint import _states, forget


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


def test_rate_limit_headers_pace_requests_below_the_cap(server: FakeOpenAI):
    """rpm 1200 (20/s, a bucket of 20): without any user setting the engine reads the limit from
    the first answers' headers and spaces requests to it: nothing refused after that."""
    server.rpm, server.latency = 1200, 0.05
    engine = ChatEngine(make_client("openai:/m", timeout=10), progress=False)
    replies = engine.run(_requests(60), {})
    assert Counter(r.status for r in replies) == {"ok": 60}
    refused = server.stats()["faults"].get("rpm_cap", 0)
    # the first window (32) leaves before any header is seen: the bucket of 20 refuses ~12 of
    # it; after that nothing
    assert refused <= 32 - 20 + 2, server.stats()
    assert engine.stats.refused == refused
    late = [r for r in server.requests[40:] if r.fault == "rpm_cap"]
    assert late == []
    assert server.requests[-1].rate_headers["x-ratelimit-limit-requests"] == "1200"


def test_user_rpm_paces_from_the_first_request(server: FakeOpenAI):
    server.rpm = 600  # 10/s, a bucket of 10
    engine = ChatEngine(make_client("openai:/m", timeout=10), progress=False, rpm=600)
    replies = engine.run(_requests(30), {})
    assert Counter(r.status for r in replies) == {"ok": 30}
    # at most one refused: the server's bucket starts when the first request (which also opens
    # the connection) arrives, a few ms after ours
    assert server.stats()["statuses"].get(429, 0) <= 1 and server.stats()["statuses"][200] == 30


def test_token_limit_paces_by_estimated_tokens(server: FakeOpenAI):
    """tpm 60000 (1000 tokens/s): each request costs 50 prompt words + max_tokens 50 = 100."""
    server.tpm = 60000
    engine = ChatEngine(make_client("openai:/m", timeout=10), progress=False, tpm=60000,
                        initial_concurrency=4)
    replies = engine.run(_requests(40, words=50), {"max_tokens": 50})
    assert Counter(r.status for r in replies) == {"ok": 40}
    # the estimate starts at 4 characters a token (too low here: ~3 characters a word), learns
    # from usage, and the remaining-tokens header corrects the bucket: few refusals
    assert server.stats()["faults"].get("tpm_cap", 0) <= 4, server.stats()


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
    engine = ChatEngine(client, progress=False, initial_concurrency=4, breaker_threshold=5,
                        backoff_base=0.001)
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
    forget()
    client = _AnswersThenHangs(5)
    engine = ChatEngine(client, progress=False, initial_concurrency=1, max_concurrency=1,
                        deadline=0.5)
    try:
        replies = engine.run(_requests(20), {})
    finally:
        client.release.set()
    assert [r.status for r in replies[:5]] == ["ok"] * 5
    assert {r.status for r in replies[5:]} == {"deadline_exceeded"}
    assert "deadline of 0.5 s" in replies[-1].reason
    assert engine.stats.deadline_exceeded == 15


class _Counting:
    """Counts requests in flight across every engine using it; blocks until released."""

    identity, json_mode = "shared-endpoint", False

    def __init__(self) -> None:
        self.in_flight = self.peak = 0
        self._lock = threading.Lock()
        self.gate = threading.Semaphore(0)

    def complete(self, messages, parameters):
        with self._lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        self.gate.acquire(timeout=10)
        with self._lock:
            self.in_flight -= 1
        return Completion("ok")


def test_runs_from_several_threads_share_one_limit_per_endpoint():
    """Four threads judge at once against one endpoint: one limit (4 in flight at first) holds
    for all of them, not 4 per run."""
    forget()
    client = _Counting()
    results: list[list] = []

    def one() -> None:
        engine = ChatEngine(client, progress=False, initial_concurrency=4, max_concurrency=4)
        results.append(engine.run(_requests(10), {}))

    threads = [threading.Thread(target=one) for _ in range(4)]
    for thread in threads:
        thread.start()
    while client.in_flight < 4:  # wait until the shared limit is full
        threading.Event().wait(0.01)
    state = _states["shared-endpoint"]
    assert len(state._runs) >= 1
    for _ in range(40):
        client.gate.release()
    for thread in threads:
        thread.join(30)
    assert sorted(len(r) for r in results) == [10] * 4
    assert all(reply.status == "ok" for run in results for reply in run)
    assert client.peak == 4  # never more than the one limit, whatever the number of runs


def test_the_heap_before_a_run_is_frozen_while_it_goes_and_given_back():
    """Full collections during a run skip the objects made before it (gc.freeze), and the heap
    is unfrozen afterwards; a heap the process froze itself stays as it was."""
    import gc

    from mlflow_llm_eval.chat.types import Completion

    seen = []

    class Counting:
        identity, json_mode = "freeze-check", False

        def complete(self, messages, parameters):
            seen.append(gc.get_freeze_count())
            return Completion("x", 1, 1)

    assert gc.get_freeze_count() == 0
    before = object()  # noqa: F841 - exists before the run
    ChatEngine(Counting(), progress=False).run([[{"role": "user", "content": "a"}]] * 3, {})
    assert seen and min(seen) > 0 and gc.get_freeze_count() == 0
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        ChatEngine(Counting(), progress=False).run([[{"role": "user", "content": "b"}]], {})
        assert gc.get_freeze_count() > 0.9 * frozen  # the process's own freeze: left alone
    finally:
        gc.unfreeze()
