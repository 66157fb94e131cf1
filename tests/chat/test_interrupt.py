"""An interrupted run stops spending: after a KeyboardInterrupt (a real SIGINT, or raised by
``on_answer``) or another exception in ``on_answer``, no new request is sent, the answers in
flight are stored, and a re-run pays only for the rows never answered.

Nothing here depends on timing. The fake server holds requests on events (the engine's limit
is IN_FLIGHT, so nothing else can be sent while they are held) and records, at each request's
arrival, whether the engine had acknowledged the interrupt (``engine.halted``, set on the request
loop once it stopped sending). The held requests are released only after that acknowledgement:
a request sent after it would need one of their slots, so it would arrive after the
acknowledgement and be recorded as such. ``engine.stopped`` says the run's requests have all
ended (nothing of it can be sent any more), and the server must have received exactly
``engine.requests_sent``. Every wait is bounded."""

from __future__ import annotations

import itertools
import queue
import signal
import threading
from pathlib import Path

import pytest
from support.fake_openai import FakeOpenAI

from mlflow_llm_eval.chat import ChatEngine, make_client
from mlflow_llm_eval.chat.collect import Replies, interrupted
from mlflow_llm_eval.chat.endpoint import forget
from mlflow_llm_eval.chat.replies import Reply
from mlflow_llm_eval.chat.store import AnswerWriter, CachedAnswer
from mlflow_llm_eval.chat.types import Completion
from mlflow_llm_eval.judge.cache import JudgeCache

ROWS, ANSWERED, IN_FLIGHT = 40, 10, 4


def _requests() -> list[list[dict]]:
    return [[{"role": "user", "content": f"q{i}"}] for i in range(ROWS)]


class _Held:
    """The server's responder: answers the first ANSWERED requests, holds the next ones until
    ``release``; ``full`` is set when IN_FLIGHT requests are held (nothing else can be sent
    then: the engine's limit is IN_FLIGHT)."""

    def __init__(self, on_full=None) -> None:
        self.arrivals = itertools.count()
        self.full, self.release = threading.Event(), threading.Event()
        self.on_full = on_full
        self.engine: ChatEngine | None = None
        #: Requests that arrived once the engine had acknowledged the interrupt.
        self.after_halt: list[str] = []

    def __call__(self, prompt: str) -> str:
        if self.engine is not None and self.engine.halted.is_set():
            self.after_halt.append(prompt)
        n = next(self.arrivals)
        if n >= ANSWERED:
            if n == ANSWERED + IN_FLIGHT - 1:
                self.full.set()
                if self.on_full is not None:
                    self.on_full()
            assert self.release.wait(30)
        return "answer"


@pytest.fixture()
def server(monkeypatch: pytest.MonkeyPatch):
    forget()
    with FakeOpenAI() as fake:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-interrupt")
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        monkeypatch.delenv("OPENAI_API_BASE", raising=False)
        yield fake
    forget()


def _engine(path: Path, **options) -> ChatEngine:
    return ChatEngine(
        make_client("openai:/m", timeout=60),
        progress=False,
        cache=JudgeCache(path),
        cache_key=lambda m: m[0]["content"],
        initial_concurrency=IN_FLIGHT,
        max_concurrency=IN_FLIGHT,
        interrupt_grace=30,
        **options,
    )


def _release_when_halted(engine: ChatEngine, held: _Held) -> threading.Thread:
    """Let the held answers come once the engine has stopped sending."""
    held.engine = engine

    def wait() -> None:
        engine.halted.wait(30)
        held.release.set()

    thread = threading.Thread(target=wait, daemon=True)
    thread.start()
    return thread


def _nothing_sent_after_the_halt(server: FakeOpenAI, engine: ChatEngine, held: _Held) -> None:
    """The engine acknowledged the interrupt with ANSWERED + IN_FLIGHT requests sent, sent none
    after it, and the server received exactly those (none after the acknowledgement)."""
    assert engine.halted.is_set()
    assert engine.stopped.wait(30), "the run's requests did not end"
    assert engine.sent_at_halt == engine.requests_sent == ANSWERED + IN_FLIGHT
    for _ in range(3000):  # every request the engine sent reaches the server (bounded)
        if len(server.requests) >= engine.requests_sent:
            break
        threading.Event().wait(0.01)
    assert len(server.requests) == engine.requests_sent
    assert held.after_halt == []


def _rerun_pays_only_the_rest(server: FakeOpenAI, path: Path, stored: int) -> None:
    server.reset()
    server.responder = lambda prompt: "answer"
    forget()
    engine = ChatEngine(
        make_client("openai:/m", timeout=60),
        progress=False,
        cache=JudgeCache(path),
        cache_key=lambda m: m[0]["content"],
    )
    replies = engine.run(_requests(), {})
    assert [r.status for r in replies] == ["ok"] * ROWS
    assert engine.stats.cache_hits == stored
    assert len(server.requests) == ROWS - stored


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_exception_in_on_answer_stops_sending_and_keeps_answers_in_flight(
    server: FakeOpenAI, tmp_path: Path, error: type[BaseException]
):
    """``on_answer`` raises (a KeyboardInterrupt as Ctrl-C raises it in the calling thread, or
    the user's callback failing) while IN_FLIGHT requests are held at the server."""
    held = _Held()
    server.responder = held
    seen: list[int] = []

    def on_answer(index, completion):
        seen.append(index)
        if len(seen) == ANSWERED:  # the caller gives up while IN_FLIGHT requests are out
            assert held.full.wait(30)
            raise error("the user's callback failed")

    path = tmp_path / "answers.sqlite"
    engine = _engine(path, on_answer=on_answer)
    releaser = _release_when_halted(engine, held)
    try:
        with pytest.raises(error, match="callback failed"):
            engine.run(_requests(), {})
    finally:
        held.release.set()
        releaser.join(30)
    # nothing sent after the interrupt: the ANSWERED + the IN_FLIGHT held at that moment
    _nothing_sent_after_the_halt(server, engine, held)
    # the answers that arrived in the grace period are stored with the others
    assert len(JudgeCache(path)) == ANSWERED + IN_FLIGHT
    _rerun_pays_only_the_rest(server, path, ANSWERED + IN_FLIGHT)


def test_keyboard_interrupt_stops_sending_and_keeps_answers_in_flight(
    server: FakeOpenAI, tmp_path: Path
):
    """A real SIGINT (what Ctrl-C sends) reaches the calling thread while IN_FLIGHT requests
    are held at the server."""
    main = threading.main_thread().ident
    assert threading.current_thread().ident == main
    held = _Held(on_full=lambda: signal.pthread_kill(main, signal.SIGINT))
    server.responder = held
    path = tmp_path / "answers.sqlite"
    engine = _engine(path)
    releaser = _release_when_halted(engine, held)
    try:
        with pytest.raises(KeyboardInterrupt):
            engine.run(_requests(), {})
    finally:
        held.release.set()
        releaser.join(30)
    _nothing_sent_after_the_halt(server, engine, held)
    assert len(JudgeCache(path)) == ANSWERED + IN_FLIGHT
    _rerun_pays_only_the_rest(server, path, ANSWERED + IN_FLIGHT)


def test_grace_is_bounded_when_answers_never_come(server: FakeOpenAI, tmp_path: Path):
    """The held answers never come: the run ends after the grace (cancelling them) instead of
    waiting for them, and a re-run pays only for what was never answered."""
    held = _Held()
    server.responder = held

    def on_answer(index, completion):
        if index >= 0 and held.full.wait(30):
            raise RuntimeError("stop")

    path = tmp_path / "answers.sqlite"
    engine = ChatEngine(
        make_client("openai:/m", timeout=60),
        progress=False,
        cache=JudgeCache(path),
        cache_key=lambda m: m[0]["content"],
        initial_concurrency=IN_FLIGHT,
        max_concurrency=IN_FLIGHT,
        interrupt_grace=0.1,
        on_answer=on_answer,
    )
    held.engine = engine
    try:
        with pytest.raises(RuntimeError, match="stop"):
            engine.run(_requests(), {})
        assert engine.halted.is_set()
    finally:
        held.release.set()
    _nothing_sent_after_the_halt(server, engine, held)
    stored = len(JudgeCache(path))
    assert stored <= ANSWERED  # the held ones were cancelled, not stored
    _rerun_pays_only_the_rest(server, path, stored)


def test_a_reply_put_as_the_run_ends_is_still_stored():
    """The last reply lands in the queue just after a wait for it timed out, and the run is done
    by the time that is noticed: it is stored all the same (the queue is drained once the run is
    seen done)."""
    from types import SimpleNamespace

    class Late(Replies):
        def get(self, block=True, timeout=None):
            if not self.given:  # times out, and the loop puts the last reply meanwhile
                self.given = True
                self.put((0, Reply(value=1, completion=Completion("late", 1, 1))))
                run_over.set()
                raise queue.Empty
            return super().get(block, timeout)

    run_over = threading.Event()
    future = SimpleNamespace(done=run_over.is_set, cancel=lambda: None)

    async def halt():
        pass

    engine = SimpleNamespace(interrupt_grace=30.0, _stopping=False, _halt=halt)
    done = Late()
    done.given = False
    writer = AnswerWriter(_Memory())
    interrupted(engine, future, done, ["k0"], writer)
    assert list(writer.cache.answers) == ["k0"]


def test_a_reply_taken_but_not_handed_over_when_interrupted_is_stored():
    """The interrupt lands right after the calling thread took a reply from the queue (e.g. as
    ``get`` returns): the reply was delivered, never handed to the writer, and is stored."""
    from types import SimpleNamespace

    async def halt():
        pass

    done = Replies()
    answer = Reply(value=1, completion=Completion("taken", 1, 1))
    done.put((0, answer))
    done.put((1, Reply(status="timeout", reason="no answer")))  # nothing to store
    done.put((2, answer))
    writer = AnswerWriter(_Memory())
    writer.add("k2", CachedAnswer("taken"))  # row 2 was handed over before the interrupt
    done.handed.add(2)
    assert done.get_nowait()[0] == 0  # taken, then the interrupt: lost from the queue
    engine = SimpleNamespace(interrupt_grace=30.0, _stopping=False, _halt=halt)
    future = SimpleNamespace(done=lambda: True, cancel=lambda: None)
    interrupted(engine, future, done, ["k0", "k1", "k2"], writer)
    assert sorted(writer.cache.answers) == ["k0", "k2"]
    assert writer.cache.writes == 1  # k2 once (handed), k0 added at the end


class _Memory:
    """A cache in memory, counting its writes."""

    def __init__(self) -> None:
        self.answers: dict = {}
        self.writes = 0

    def put_many(self, items) -> None:
        self.answers.update(items)
        self.writes += 1
