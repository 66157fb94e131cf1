"""Answers the process received are durable: written while the run goes (by count, by time with
an injected clock, and when the engine has nothing else to do), readable by another process,
and a real process killed with SIGKILL keeps them: the re-run pays only for the rest.
Every wait is bounded; no assertion depends on how fast the machine is."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from support.fake_openai import FakeOpenAI

from mlflow_llm_eval.chat import ChatEngine, Completion, make_client
from mlflow_llm_eval.chat.endpoint import forget
from mlflow_llm_eval.chat.store import MAX_BATCH, MAX_DELAY, AnswerWriter, CachedAnswer
from mlflow_llm_eval.judge.cache import JudgeCache


class _Recorder:
    """A cache that records each write (and can hold the reader in ``get_many``)."""

    def __init__(self) -> None:
        self.writes: list[list[str]] = []

    def get_many(self, keys):
        return {}

    def put_many(self, items):
        self.writes.append([key for key, _ in items])


def test_writer_bounds_by_count_and_by_time_with_an_injected_clock():
    now = [100.0]
    cache = _Recorder()
    writer = AnswerWriter(cache, clock=lambda: now[0])
    assert (writer.max_batch, writer.max_delay) == (MAX_BATCH, MAX_DELAY) == (64, 0.5)
    for i in range(MAX_BATCH - 1):
        writer.add(f"k{i}", CachedAnswer("a"))
    assert cache.writes == [] and writer.waiting == 63
    writer.add("k63", CachedAnswer("a"))  # the 64th answer: written at once
    assert [len(w) for w in cache.writes] == [64] and writer.waiting == 0
    writer.add("late", CachedAnswer("a"))
    now[0] += 0.49
    assert not writer.due() and writer.seconds_left(0.25) == pytest.approx(0.01)
    now[0] += 0.01
    assert writer.due() and writer.seconds_left(0.25) == 0.0
    writer.flush()
    assert cache.writes[-1] == ["late"] and not writer.due()


def test_a_failed_write_keeps_the_answers_for_the_next():
    class Flaky(_Recorder):
        fail = True

        def put_many(self, items):
            if self.fail:
                self.fail = False
                raise OSError("disk busy")
            super().put_many(items)

    cache = Flaky()
    writer = AnswerWriter(cache)
    writer.add("a", CachedAnswer("x"))
    with pytest.raises(OSError):
        writer.flush()
    writer.add("b", CachedAnswer("y"))
    writer.flush()
    assert cache.writes == [["a", "b"]]


class _Burst:
    """Answers every request at once (a burst larger than one batch)."""

    identity, json_mode = "burst", False

    def complete(self, messages, parameters):
        return Completion("answer " + messages[0]["content"], 1, 1)


def test_engine_never_holds_more_than_a_batch():
    forget()
    cache = _Recorder()
    engine = ChatEngine(
        _Burst(),
        progress=False,
        cache=cache,
        cache_key=lambda m: m[0]["content"],
        initial_concurrency=256,
    )
    replies = engine.run([[{"role": "user", "content": f"q{i}"}] for i in range(300)], {})
    assert all(r.status == "ok" for r in replies)
    assert sorted(k for w in cache.writes for k in w) == sorted(f"q{i}" for i in range(300))
    assert max(len(w) for w in cache.writes) <= MAX_BATCH


class _Gate:
    """Answers the first ``n`` requests, then holds every other until released (bounded)."""

    identity, json_mode = "gate", False

    def __init__(self, n: int) -> None:
        self.n, self.calls, self.release = n, 0, threading.Event()
        self._lock = threading.Lock()

    def complete(self, messages, parameters):
        with self._lock:
            self.calls += 1
            mine = self.calls
        if mine > self.n:
            self.release.wait(30)
        return Completion("answer", 1, 1)


def test_answers_are_readable_by_another_connection_while_the_run_waits(tmp_path: Path):
    """Ten answers come, the rest hang: the ten are committed (seen through a second
    connection) before the run ends, without any further answer arriving."""
    forget()
    path = tmp_path / "c.sqlite"
    client = _Gate(10)
    engine = ChatEngine(
        client,
        progress=False,
        cache=JudgeCache(path),
        cache_key=lambda m: m[0]["content"],
        initial_concurrency=16,
    )
    result: list = []
    runner = threading.Thread(
        target=lambda: result.append(
            engine.run([[{"role": "user", "content": f"q{i}"}] for i in range(30)], {})
        )
    )
    runner.start()
    try:
        seen = JudgeCache(path)
        stored = threading.Event()
        for _ in range(600):  # at most 30 s
            if len(seen) >= 10:
                stored.set()
                break
            threading.Event().wait(0.05)
        assert stored.is_set(), f"only {len(seen)} of 10 answers stored while the run waits"
        assert runner.is_alive()  # the run was still going: written as they came
        assert set(seen.get_many([f"q{i}" for i in range(30)])) <= {f"q{i}" for i in range(30)}
    finally:
        client.release.set()
        runner.join(30)
    assert [r.status for r in result[0]] == ["ok"] * 30


WORKER = textwrap.dedent("""
    import sys
    from mlflow_llm_eval.chat import ChatEngine, make_client
    from mlflow_llm_eval.judge.cache import JudgeCache
    engine = ChatEngine(make_client("openai:/m", timeout=60), progress=False,
                        cache=JudgeCache(sys.argv[1]), cache_key=lambda m: m[0]["content"],
                        initial_concurrency=8, max_concurrency=8)
    engine.run([[{"role": "user", "content": f"q{i}"}] for i in range(int(sys.argv[2]))], {})
""")


def test_sigkill_keeps_every_answer_received(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A real process judges 60 rows; the server answers 20 and holds the rest. The answers are
    stored while the process waits (polled, bounded); then SIGKILL. A re-run with the same cache
    asks the server only for the 40 never answered."""
    held = threading.Event()
    answered = 20
    arrivals = itertools.count()

    def gate(prompt: str) -> str:  # the server answers the first 20 requests, holds the rest
        if next(arrivals) >= answered:
            held.wait(30)
        return "answer"

    forget()
    path = tmp_path / "answers.sqlite"
    with FakeOpenAI(responder=gate) as server:
        env = {
            **os.environ,
            "OPENAI_API_KEY": "sk-test-kill",
            "OPENAI_BASE_URL": server.base_url,
            "PYTHONPATH": os.pathsep.join(
                [str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")]
            ),
        }
        env.pop("OPENAI_API_BASE", None)
        proc = subprocess.Popen(
            [sys.executable, "-c", WORKER, str(path), "60"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            for _ in range(1200):  # at most 60 s: start-up, 20 answers, their write
                if path.exists() and len(JudgeCache(path)) >= answered:
                    break
                if proc.poll() is not None:
                    pytest.fail(f"worker ended: {proc.communicate()[1][-2000:]!r}")
                threading.Event().wait(0.05)
            assert proc.poll() is None  # still waiting for the held answers
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
        finally:
            held.set()
            if proc.poll() is None:
                proc.kill()
                proc.wait(30)
        kept = set(JudgeCache(path).get_many([f"q{i}" for i in range(60)]))
        assert len(kept) == answered
        assert kept <= {r.prompt for r in server.requests if r.status == 200}
        server.reset()
        server.responder = lambda prompt: "answer"
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-kill")
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.delenv("OPENAI_API_BASE", raising=False)
        forget()
        engine = ChatEngine(
            make_client("openai:/m", timeout=60),
            progress=False,
            cache=JudgeCache(path),
            cache_key=lambda m: m[0]["content"],
        )
        replies = engine.run([[{"role": "user", "content": f"q{i}"}] for i in range(60)], {})
    assert [r.status for r in replies] == ["ok"] * 60
    assert engine.stats.cache_hits == answered
    assert len(server.requests) == 60 - answered
    assert not {r.prompt for r in server.requests} & kept  # nothing paid twice
