"""The on-disk cache: identical re-runs are free, killed runs resume, two processes share one file."""

from __future__ import annotations

import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from support.fake_openai import FakeOpenAI

from mlflow_llm_eval.judge import JudgeCache, answer_similarity, default_cache_path
from mlflow_llm_eval.judge.cache import CACHE_FILE

TESTS_DIR = Path(__file__).resolve().parents[1]

#: A separate process judging rows(n, tag) with the cache of $MLFLOW_LLM_EVAL_CACHE_DIR.
WORKER = textwrap.dedent("""
    import json, sys
    from collections import Counter
    sys.path.insert(0, {tests!r})
    from judge.conftest import qa_rows
    from mlflow_llm_eval.judge import answer_similarity
    data = {{"predictions": [], "inputs": [], "targets": []}}
    for n, tag in json.loads(sys.argv[1]):
        for key, values in qa_rows(n, tag).items():
            data[key] += values
    metric = answer_similarity(model="openai:/gpt-4o-mini", max_workers=int(sys.argv[2]),
                               progress=False)
    result = metric.score_batch(data)
    print(json.dumps({{"statuses": Counter(result.statuses), **result.extra_aggregates}}))
""").format(tests=str(TESTS_DIR))


def _worker(parts: list[tuple[int, str]], max_workers: int = 64) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, json.dumps(parts), str(max_workers)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )


def _metric(**options):
    return answer_similarity(model="openai:/gpt-4o-mini", progress=False, **options)


def test_identical_rerun_makes_no_request(judge_env: FakeOpenAI, rows, cache_dir: Path):
    first = _metric().score_batch(rows(30))
    assert len(judge_env.requests) == 30 and (cache_dir / CACHE_FILE).exists()
    judge_env.reset()
    second = _metric().score_batch(rows(30))
    assert judge_env.stats()["requests"] == 0
    assert (second.scores, second.justifications) == (first.scores, first.justifications)
    assert second.extra_aggregates["judge_cache_hits"] == 30
    assert second.extra_aggregates["judge_requests"] == 0


def test_key_covers_parameters_and_model(judge_env: FakeOpenAI, rows):
    _metric().score_batch(rows(5))
    judge_env.reset()
    _metric(parameters={"temperature": 0.0, "max_tokens": 300}).score_batch(rows(5))
    answer_similarity(model="openai:/gpt-4o", progress=False).score_batch(rows(5))
    assert judge_env.stats()["requests"] == 10


def test_off_switches_and_explicit_path(
    judge_env: FakeOpenAI, rows, cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    _metric(cache=False).score_batch(rows(3))
    monkeypatch.setenv("MLFLOW_LLM_EVAL_JUDGE_CACHE", "0")
    _metric().score_batch(rows(3))
    assert not cache_dir.exists() and len(judge_env.requests) == 6
    monkeypatch.delenv("MLFLOW_LLM_EVAL_JUDGE_CACHE")
    own = tmp_path / "own.sqlite"
    _metric(cache=str(own)).score_batch(rows(3))
    assert len(JudgeCache(own)) == 3 and not cache_dir.exists()


def test_default_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.delenv("MLFLOW_LLM_EVAL_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_path() == tmp_path / "mlflow_llm_eval" / "judge_cache.sqlite"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_path() == Path.home() / ".cache" / "mlflow_llm_eval" / "judge_cache.sqlite"


def test_killed_run_resumes_without_repaying(judge_env: FakeOpenAI, rows, cache_dir: Path):
    """The server answers 50 requests and holds the rest: the 50 answers are stored while the
    worker waits (polled, bounded), then SIGKILL; the re-run pays for the other 70 only."""
    held, arrivals = threading.Event(), itertools.count()

    def gate(prompt: str) -> str:
        if next(arrivals) >= 50:
            held.wait(30)
        return '{"score": 3, "justification": "held"}'

    judge_env.responder = gate
    worker = _worker([(120, "")], max_workers=4)
    path = cache_dir / CACHE_FILE
    try:
        for _ in range(1200):  # at most 60 s
            if path.exists() and len(JudgeCache(path)) >= 50:
                break
            assert worker.poll() is None, worker.communicate()[1][-2000:]
            time.sleep(0.05)
        worker.send_signal(signal.SIGKILL)
        worker.wait(30)
    finally:
        held.set()
    cached = len(JudgeCache(path))
    assert cached == 50
    judge_env.reset()
    judge_env.responder = None
    result = _metric().score_batch(rows(120))
    assert set(result.statuses) == {"ok"}
    assert judge_env.stats()["requests"] == 120 - cached
    assert result.extra_aggregates["judge_cache_hits"] == cached


def test_two_processes_share_the_cache(judge_env: FakeOpenAI, rows, cache_dir: Path):
    judge_env.latency = 0.01
    workers = [_worker([(60, "shared"), (40, "a")]), _worker([(60, "shared"), (40, "b")])]
    outputs = [w.communicate(timeout=120) for w in workers]
    for worker, (out, err) in zip(workers, outputs):
        assert worker.returncode == 0, err
        assert json.loads(out)["statuses"] == {"ok": 100}
    path = cache_dir / CACHE_FILE
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert len(JudgeCache(path)) == 140
    judge_env.reset()
    data = {k: rows(60, "shared")[k] + rows(40, "a")[k] + rows(40, "b")[k] for k in rows(1)}
    result = _metric().score_batch(data)
    assert set(result.statuses) == {"ok"} and judge_env.stats()["requests"] == 0
