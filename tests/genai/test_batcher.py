"""The dynamic batcher: deterministic with barriers and events (no timing assertions)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from mlflow_llm_eval.genai_adapter.batcher import DynamicBatcher

#: A window no test waits out: batches close because they are full, or on an event.
LONG = 120.0


def _run_concurrently(batcher: DynamicBatcher, items: list[int]) -> list[int]:
    barrier = threading.Barrier(len(items))

    def call(x: int) -> int:
        barrier.wait()
        return batcher.submit(x)

    with ThreadPoolExecutor(len(items)) as pool:
        return list(pool.map(call, items))


def test_concurrent_calls_become_one_batch_and_each_caller_gets_its_result() -> None:
    seen: list[list[int]] = []

    def fn(items: list[int]) -> list[int]:
        seen.append(list(items))
        return [x * 10 for x in items]

    batcher = DynamicBatcher(fn, max_batch=8, window=LONG)
    assert _run_concurrently(batcher, list(range(8))) == [x * 10 for x in range(8)]
    assert len(seen) == 1 and sorted(seen[0]) == list(range(8))
    assert (batcher.stats.batches, batcher.stats.items, batcher.stats.sizes) == (1, 8, [8])


def test_batches_are_capped_at_max_batch() -> None:
    batcher = DynamicBatcher(lambda xs: [x + 1 for x in xs], max_batch=3, window=LONG)
    assert _run_concurrently(batcher, list(range(9))) == [x + 1 for x in range(9)]
    assert batcher.stats.sizes == [3, 3, 3]


def test_callers_queued_while_a_batch_runs_form_the_next_batch_with_no_window() -> None:
    release, started = threading.Event(), threading.Event()
    sizes: list[int] = []

    def fn(items: list[str]) -> list[str]:
        sizes.append(len(items))
        if len(sizes) == 1:
            started.set()
            assert release.wait(LONG)
        return [s.upper() for s in items]

    batcher = DynamicBatcher(fn, max_batch=16, window=0)
    with ThreadPoolExecutor(6) as pool:
        first = pool.submit(batcher.submit, "a")
        assert started.wait(LONG)
        rest = [pool.submit(batcher.submit, s) for s in "bcdef"]
        while True:  # wait (not a timing assertion) until the five callers are queued
            with batcher._cond:
                if len(batcher._pending) == 5:
                    break
            threading.Event().wait(0.001)
        release.set()
        assert first.result() == "A" and [f.result() for f in rest] == list("BCDEF")
    assert sizes == [1, 5]


def test_an_error_in_the_batch_reaches_every_caller_of_that_batch_only() -> None:
    calls = {"n": 0}

    def fn(items: list[int]) -> list[int]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("model crashed")
        return items

    batcher = DynamicBatcher(fn, max_batch=4, window=LONG)
    barrier = threading.Barrier(4)

    def call(x: int):
        barrier.wait()
        try:
            return batcher.submit(x)
        except RuntimeError as exc:
            return str(exc)

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(call, range(4))) == ["model crashed"] * 4
    batcher.window = 0  # a lone caller now: no one else will come
    assert batcher.submit(7) == 7


def test_a_wrong_number_of_results_is_an_error_not_a_misattribution() -> None:
    batcher = DynamicBatcher(lambda xs: xs[:-1], max_batch=2, window=0)
    with pytest.raises(RuntimeError, match="returned 0 results for 1 items"):
        batcher.submit(1)


@pytest.mark.parametrize(
    "kwargs", [{"max_batch": 0}, {"max_batch": 1.5}, {"window": -1}, {"max_in_flight": 0}]
)
def test_configuration_is_validated(kwargs) -> None:
    with pytest.raises(ValueError):
        DynamicBatcher(lambda xs: xs, **kwargs)


def test_with_max_in_flight_two_batches_run_at_once() -> None:
    first_started, release_first = threading.Event(), threading.Event()

    def fn(items: list[str]) -> list[str]:
        if items == ["slow"]:
            first_started.set()
            assert release_first.wait(LONG)
        return [s.upper() for s in items]

    batcher = DynamicBatcher(fn, max_batch=1, window=0, max_in_flight=2)
    with ThreadPoolExecutor(2) as pool:
        slow = pool.submit(batcher.submit, "slow")
        assert first_started.wait(LONG)
        assert pool.submit(batcher.submit, "fast").result(timeout=LONG) == "FAST"  # not blocked
        assert not slow.done()
        release_first.set()
        assert slow.result() == "SLOW"
    assert batcher.stats.batches == 2
