"""A small dynamic batcher: concurrent one-item calls from many threads, scored as one batch.

MLflow 3's ``mlflow.genai.evaluate`` calls a scorer once per row from its worker threads. Our
metrics are batch functions (a judge runs one engine over many prompts, toxicity and BERTScore
pad a batch into one forward pass), so the callers that arrive together are collected and
handed to the batch function once; each caller gets its own result back.

No background thread: a caller that finds no batch being collected (and fewer than
``max_in_flight`` batches running) becomes the *leader*. It waits until ``max_batch`` items are
pending or ``window`` seconds have passed, takes up to ``max_batch`` items, runs the batch
function outside the lock and hands the results out. Callers arriving meanwhile wait; the next
leader takes everything that queued up (so with ``max_in_flight=1`` batches form under load
even with ``window=0``: what queues during one batch is the next). ``max_in_flight`` > 1 lets
I/O-bound batches (judge requests) overlap.

    >>> batcher = DynamicBatcher(lambda items: [x * 2 for x in items], max_batch=4, window=0)
    >>> batcher.submit(21)
    42
    >>> batcher.stats.batches, batcher.stats.items
    (1, 1)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class BatcherStats:
    """What the batcher did: batch calls made, items scored, the size of each batch."""

    batches: int = 0
    items: int = 0
    sizes: list[int] = field(default_factory=list)


class _Slot:
    __slots__ = ("item", "taken", "done", "value", "error")
    value: Any
    error: BaseException | None

    def __init__(self, item: Any) -> None:
        self.item, self.taken, self.done, self.value, self.error = item, False, False, None, None


class DynamicBatcher(Generic[T, R]):
    """Collect concurrent :meth:`submit` calls into calls of ``fn(items) -> results``.

    ``fn`` must return one result per item, in order. If it raises, every caller of that batch
    gets the exception. ``max_batch`` >= 1 caps a batch; ``window`` is how long (seconds) a
    leader waits for more callers before it runs a batch that is not full; ``max_in_flight``
    how many batches may run at once. Thread-safe.
    """

    def __init__(
        self,
        fn: Callable[[list[T]], Sequence[R]],
        *,
        max_batch: int = 64,
        window: float = 0.01,
        max_in_flight: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        for label, value in (("max_batch", max_batch), ("max_in_flight", max_in_flight)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{label} must be an integer >= 1, got {value!r}")
        if not isinstance(window, (int, float)) or window < 0:
            raise ValueError(f"window must be a number of seconds >= 0, got {window!r}")
        self.fn, self.max_batch, self.window, self._clock = fn, max_batch, float(window), clock
        self.max_in_flight = max_in_flight
        self._cond = threading.Condition()
        self._pending: list[_Slot] = []
        self._collecting = False
        self._in_flight = 0
        self.stats = BatcherStats()

    def submit(self, item: T) -> R:
        """Score ``item`` in a batch with whatever other callers are pending; block until done."""
        slot = _Slot(item)
        with self._cond:
            self._pending.append(slot)
            self._cond.notify_all()
        while True:
            with self._cond:
                while not slot.done and (
                    slot.taken or self._collecting or self._in_flight >= self.max_in_flight
                ):
                    self._cond.wait()
                if slot.done:
                    break
                self._collecting = True
                batch = self._collect()
                for s in batch:
                    s.taken = True
                self._collecting = False
                self._in_flight += 1
                self._cond.notify_all()
            self._run(batch)
        if slot.error is not None:
            raise slot.error
        return slot.value

    def _collect(self) -> list[_Slot]:
        """As leader (lock held): wait for a full batch or the window, then take the batch."""
        deadline = self._clock() + self.window
        while len(self._pending) < self.max_batch:
            remaining = deadline - self._clock()
            if remaining <= 0:
                break
            self._cond.wait(remaining)
        batch = self._pending[: self.max_batch]
        del self._pending[: self.max_batch]
        return batch

    def _run(self, batch: list[_Slot]) -> None:
        try:
            results = list(self.fn([s.item for s in batch]))
            if len(results) != len(batch):
                raise RuntimeError(
                    f"batch function returned {len(results)} results for {len(batch)} items"
                )
            for s, value in zip(batch, results):
                s.value = value
        except BaseException as exc:  # noqa: BLE001 - handed to every caller of the batch
            for s in batch:
                s.error = exc
        finally:
            with self._cond:
                for s in batch:
                    s.done = True
                self.stats.batches += 1
                self.stats.items += len(batch)
                self.stats.sizes.append(len(batch))
                self._in_flight -= 1
                self._cond.notify_all()
