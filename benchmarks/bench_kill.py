"""kill -9 half-way through a judge run: how much of what the server answered is kept.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_kill.py [--rows 400] [--trials 3] \
        [--compare /path/to/other/checkout] [--busy 2]

A separate process judges ``--rows`` rows (``answer_similarity`` through ``score_batch``, default
settings, a fresh cache file) against the local fake OpenAI server (tests/support, run in this
process, 200 ms per answer). Once the server has answered half of the rows this process sends the
worker SIGKILL. Reported per trial: answers the server had sent at the kill (HTTP 200 written to
the socket before the kill), rows in the cache file after it, and, on a re-run of the same rows with the same
cache (another process), how many prompts the server had answered before the kill and is asked
again (paid twice). ``--compare`` runs the same trials with the package from another checkout
(e.g. the main branch) on PYTHONPATH; the sides alternate trial by trial. ``--busy N`` starts N
busy loops (``while True: pass`` processes) for the trials, to starve the worker of CPU as a
loaded machine does, and kills them by their pid at the end. "seconds to half": from the worker's
start to the kill (what keeping the unread answers few costs in throughput).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

#: The worker: judges rows(n, tag) with the cache file argv[3]; prints "ready" once imported.
WORKER = textwrap.dedent("""
    import json, signal, sys, time
    from mlflow_llm_eval.judge import answer_similarity
    n, tag, cache, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    data = {"predictions": [f"Component {tag}{i} tracks experiments." for i in range(n)],
            "inputs": [f"What does component {tag}{i} do?" for i in range(n)],
            "targets": [f"Component {tag}{i} records runs." for i in range(n)]}
    metric = answer_similarity(model="openai:/gpt-4o-mini", cache=cache, progress=False)
    import logging, re, mlflow_llm_eval
    halt = {}
    class Halt(logging.Handler):  # the engine's "interrupted: nothing more is sent (N sent, ...)"
        def emit(self, record):
            found = re.match(r"interrupted: .*[(]([0-9]+) requests sent", record.getMessage())
            if found:  # (the package's loggers format the message before handlers see it)
                halt["sent_at_halt"] = int(found[1])
    engine_log = logging.getLogger("mlflow_llm_eval.chat.engine")
    engine_log.addHandler(Halt(logging.INFO))
    engine_log.setLevel(logging.INFO)
    print("ready", mlflow_llm_eval.__file__, flush=True)
    try:
        result = metric.score_batch(data)
        print(json.dumps({"statuses": sorted(set(result.statuses))}), flush=True)
    except KeyboardInterrupt:  # a notebook kernel: the user gets the interrupt, the process lives
        print(json.dumps({"interrupted_at": time.monotonic(), **halt}), flush=True)
        time.sleep(float(mode) if mode != "-" else 0)
""")


def worker(package: Path, rows: int, tag: str, cache: Path, linger: str = "-") -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(package), "TQDM_DISABLE": "1"}
    # cwd: ``python -c`` imports from its working directory first; PYTHONPATH must decide
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(rows), tag, str(cache), linger],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cache.parent,
    )
    assert proc.stdout is not None
    ready = proc.stdout.readline().split()
    assert ready[:1] == ["ready"] and ready[1].startswith(str(package)), (ready, package)
    return proc


def cached_rows(cache: Path) -> int:
    if not cache.exists():
        return 0
    with sqlite3.connect(cache) as conn:
        return conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0]


def answered_before(server, moment: float) -> list[str]:
    """Prompts the server answered (HTTP 200 written to the socket) before ``moment``."""
    with server._lock:
        return [r.prompt for r in server.requests if r.status == 200 and 0 < r.sent <= moment]


def wait_answers(server, count: int, limit: float = 120.0) -> float:
    """Poll (1 ms) until the server has answered ``count`` requests; the moment it saw that."""
    ends = time.monotonic() + limit
    while time.monotonic() < ends:
        with server._lock:
            answered = sum(1 for r in server.requests if r.status == 200 and r.sent)
        if answered >= count:
            return time.perf_counter()
        time.sleep(0.001)
    raise TimeoutError(f"the server did not answer {count} requests within {limit} s")


def rerun(server, package: Path, rows: int, tag: str, cache: Path, before: list[str]) -> dict:
    server.reset()
    proc = worker(package, rows, tag, cache)
    out, _ = proc.communicate(timeout=300)
    asked = {r.prompt for r in server.requests}
    return {
        "rerun_requests": len(server.requests),
        "paid_twice": len(asked & set(before)),
        "rerun_statuses": json.loads(out.strip().splitlines()[-1])["statuses"],
    }


def trial(server, package: Path, rows: int, tag: str, work: Path) -> dict:
    cache = work / f"{tag}.sqlite"
    server.reset()
    proc = worker(package, rows, tag, cache)
    started = time.perf_counter()
    wait_answers(server, rows // 2)
    os.kill(proc.pid, signal.SIGKILL)
    killed = time.perf_counter()
    proc.wait(30)
    before = answered_before(server, killed)
    kept = cached_rows(cache)
    time.sleep(0.5)  # requests the server still holds end (their client is gone)
    result = {
        "answered_at_kill": len(before),
        "cached": kept,
        "kept_share": kept / max(1, len(before)),
        "to_half": killed - started,
    }
    result.update(rerun(server, package, rows, tag, cache, before))
    return result


def busy_loops(count: int) -> list[subprocess.Popen]:
    """``count`` processes spinning ``while True: pass`` (ended by :func:`stop`)."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


def stop(processes: list[subprocess.Popen]) -> None:
    for proc in processes:  # each by its own pid
        proc.kill()
        proc.wait(30)


def main() -> None:
    from support.fake_openai import FakeOpenAI

    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=400)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--compare", type=Path, default=None)
    parser.add_argument("--busy", type=int, default=0, help="busy loops during the trials")
    args = parser.parse_args()
    os.environ.update({"OPENAI_API_KEY": "sk-bench-kill"})
    os.environ.pop("OPENAI_API_BASE", None)
    work = Path(tempfile.mkdtemp(prefix="bench-kill-"))
    sides = [("this tree", REPO)] + ([("compare", args.compare)] if args.compare else [])
    print(
        f"Command: `PYTHONPATH=. .venv/bin/python benchmarks/bench_kill.py --rows {args.rows} "
        f"--trials {args.trials}"
        + (f" --compare {args.compare}" if args.compare else "")
        + (f" --busy {args.busy}" if args.busy else "")
        + "`\n"
    )
    busy = busy_loops(args.busy)
    try:
        print(
            f"{args.rows} rows, fake OpenAI server 200 ms per answer, SIGKILL once it has "
            f"answered {args.rows // 2}; {args.busy} busy loops. Load average at start: "
            f"{os.getloadavg()[0]:.1f} ({os.cpu_count()} cores).\n"
        )
        print(
            "| package | trial | answers sent at kill | rows cached | kept | re-run requests | "
            "prompts paid twice | seconds to half |"
        )
        print("|---|---|---|---|---|---|---|---|")
        with FakeOpenAI(latency=0.2) as server:
            os.environ["OPENAI_BASE_URL"] = server.base_url
            for t in range(args.trials):  # the sides alternate: the same load for both
                for name, package in sides:
                    r = trial(server, package, args.rows, f"{name[:4]}{t}-", work)
                    print(
                        f"| {name} ({package}) | {t + 1} | {r['answered_at_kill']} | "
                        f"{r['cached']} | {100 * r['kept_share']:.0f}% | {r['rerun_requests']} | "
                        f"{r['paid_twice']} | {r['to_half']:.2f} |",
                        flush=True,
                    )
        print(f"\nLoad average at the end: {os.getloadavg()[0]:.1f}.")
    finally:
        stop(busy)


if __name__ == "__main__":
    main()
