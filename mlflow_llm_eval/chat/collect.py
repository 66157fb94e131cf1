"""The calling thread's side of a run: replies taken from the request loop as they come,
answers stored within the durability bound (:mod:`.store`), ``on_answer`` called, and what
happens when the caller is interrupted (see :mod:`.engine`).
"""

from __future__ import annotations

import logging
import queue
import time
from typing import Any

from mlflow_llm_eval.chat.loop import submit
from mlflow_llm_eval.chat.replies import Reply
from mlflow_llm_eval.chat.store import AnswerWriter, CachedAnswer
from mlflow_llm_eval.chat.types import Completion

_logger = logging.getLogger(__name__)


class Replies(queue.SimpleQueue):  # type: ignore[type-arg]
    """The queue of ``(row, reply)`` from the request loop to the calling thread, which also
    keeps every reply put (:attr:`delivered`, appended on the loop) and the rows whose answer
    was handed to the writer (:attr:`handed`): an interrupt can land between taking a reply
    from the queue and handing it over (even right after ``get`` returns), and
    :func:`interrupted` then hands over what was delivered and not handed yet.

        >>> replies = Replies()
        >>> replies.put((0, Reply(value=1))); replies.get(), replies.delivered
        ((0, Reply(value=1, ...)), [(0, Reply(value=1, ...))])
    """

    def __init__(self) -> None:
        super().__init__()
        self.delivered: list[tuple[int, Reply]] = []
        self.handed: set[int] = set()

    def put(
        self, item: tuple[int, Reply], block: bool = True, timeout: float | None = None
    ) -> None:
        self.delivered.append(item)
        super().put(item, block, timeout)


def collect(
    engine: Any,
    future: Any,
    done: Replies,
    replies: list[Reply | None],
    keys: list[str] | None,
    writer: AnswerWriter | None,
    bar: Any,
    remaining: int,
) -> None:
    """Take the replies from the loop as they come; store answers (see :mod:`.store`)."""
    while remaining:
        try:
            items = [done.get(timeout=writer.seconds_left(0.25) if writer else 0.25)]
        except queue.Empty:
            if writer is not None and writer.due():
                writer.flush()
            if not future.done():
                continue
            future.result()  # a bug in the engine: raise it
            try:  # the run put its last replies after the timed-out get: drain them
                items = [done.get_nowait()]
            except queue.Empty:
                break
        while True:
            try:
                items.append(done.get_nowait())
            except queue.Empty:
                break
        answered = []
        for i, reply in items:
            replies[i] = reply
            if reply.status == "ok" and reply.completion is not None:
                answered.append((i, reply.completion))
                if writer is not None:
                    _keep(writer, keys, done, i, reply)
        if writer is not None:
            writer.flush()  # nothing more received right now: write what came
        remaining -= len(items)
        bar.update(len(items))
        if engine.on_answer is not None:
            for i, completion in answered:
                engine.on_answer(i, completion)


def interrupted(
    engine: Any, future: Any, done: Replies, keys: list[str] | None, writer: AnswerWriter | None
) -> None:
    """The caller gave up: send nothing more, store the answers in flight that arrive
    within ``interrupt_grace`` seconds, cancel the rest."""
    ends = time.monotonic() + engine.interrupt_grace
    engine._stopping = True  # read by the loop before every send: effective at once
    try:
        halted = submit(engine._halt())
        try:
            halted.result(timeout=max(0.1, engine.interrupt_grace))
        except Exception:
            _logger.debug("the request loop did not stop in time", exc_info=True)
        while True:
            left = ends - time.monotonic()
            finished = future.done()  # read before the get: then every reply is in the queue
            try:
                i, reply = (
                    done.get(timeout=min(left, 0.05))
                    if left > 0 and not finished
                    else done.get_nowait()
                )
            except queue.Empty:
                if finished or left <= 0:
                    break
                continue
            if writer is not None:
                _keep(writer, keys, done, i, reply)
    finally:
        future.cancel()
        if writer is not None:  # taken from the queue but not handed over when interrupted
            for i, reply in list(done.delivered):
                if i not in done.handed:
                    _keep(writer, keys, done, i, reply)
        if writer is not None and writer.waiting:
            try:
                writer.flush()
            except Exception:  # the interrupt is what the caller must see
                _logger.warning(
                    "could not store %d answers after an interrupt", writer.waiting, exc_info=True
                )


def _keep(
    writer: AnswerWriter, keys: list[str] | None, done: Replies, i: int, reply: Reply
) -> None:
    """Hand an answered row to the writer (nothing for a row without an answer). Marked handed
    after: an interrupt in between hands it over twice (the same row written twice)."""
    if reply.status == "ok" and reply.completion is not None and reply.completion.text is not None:
        writer.add(keys[i], _stored(reply.completion))  # type: ignore[index]
        done.handed.add(i)


def _stored(completion: Completion) -> CachedAnswer:
    return CachedAnswer(
        completion.text or "", completion.prompt_tokens, completion.completion_tokens
    )
