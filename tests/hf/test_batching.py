"""Length-sorted batching restores input order; CUDA out-of-memory halves the batch size."""

from __future__ import annotations

import random

import pytest
import torch

from mlflow_llm_eval.hf.batching import is_out_of_memory, length_sorted_batches, run_sorted_batches


def test_batches_are_sorted_longest_first_and_cover_every_row():
    rng = random.Random(3)
    lengths = [rng.randint(1, 50) for _ in range(37)]
    batches = length_sorted_batches(lengths, 8)
    assert sorted(i for b in batches for i in b) == list(range(37))
    assert [len(b) for b in batches] == [8, 8, 8, 8, 5]
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(lengths, reverse=True)


def test_results_come_back_in_input_order():
    rng = random.Random(5)
    items = ["x" * rng.randint(0, 40) + str(i) for i in range(53)]
    seen_batches = []

    def run(batch):
        seen_batches.append(batch)
        return [s.upper() for s in batch]

    out = run_sorted_batches(items, [len(s) for s in items], run, batch_size=6)
    assert out == [s.upper() for s in items]
    assert len(seen_batches) == 9 and seen_batches[0] != items[:6]


class FakeOOM:
    """A callable that runs out of 'GPU memory' on batches larger than ``limit``."""

    def __init__(self, limit: int, error=torch.cuda.OutOfMemoryError):
        self.limit, self.error, self.sizes = limit, error, []

    def __call__(self, batch):
        self.sizes.append(len(batch))
        if len(batch) > self.limit:
            raise self.error("CUDA out of memory. Tried to allocate 2.00 GiB")
        return [len(s) for s in batch]


def test_out_of_memory_halves_the_batch_and_keeps_every_row():
    items = ["a" * n for n in range(1, 41)]
    fake, freed = FakeOOM(limit=5), []
    out = run_sorted_batches(
        items,
        [len(s) for s in items],
        fake,
        batch_size=32,
        on_out_of_memory=lambda: freed.append(1),
    )
    assert out == list(range(1, 41))
    assert fake.sizes[:3] == [32, 16, 8]  # halved twice, then 4 for the rest
    assert set(fake.sizes[3:]) == {4} and len(freed) == 3


def test_mps_style_runtime_error_counts_as_out_of_memory():
    assert is_out_of_memory(RuntimeError("MPS backend out of memory (MPS allocated: 1 GB)"))
    assert not is_out_of_memory(RuntimeError("shape mismatch"))
    items = ["abc"] * 4
    out = run_sorted_batches(items, [3] * 4, FakeOOM(1, RuntimeError), batch_size=4)
    assert out == [3] * 4


def test_out_of_memory_on_a_single_row_re_raises():
    with pytest.raises(torch.cuda.OutOfMemoryError):
        run_sorted_batches(["a", "b"], [1, 1], FakeOOM(limit=0), batch_size=2)


def test_other_errors_are_not_retried():
    calls = []

    def broken(batch):
        calls.append(len(batch))
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        run_sorted_batches(["a", "b"], [1, 1], broken, batch_size=2)
    assert calls == [2]


def test_bad_batch_size():
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        length_sorted_batches([1], 0)
