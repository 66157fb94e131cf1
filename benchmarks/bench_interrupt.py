"""Ctrl-C during a judge run: requests sent after the interrupt, answers kept, time to the user.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_interrupt.py [--rows 400] [--trials 3] \
        [--compare /path/to/other/checkout]

A separate process (the worker of benchmarks/bench_kill.py) judges ``--rows`` rows against the
local fake OpenAI server (run in this process, 200 ms per answer). Once the server has answered
a quarter of them this process sends the worker SIGINT (what Ctrl-C sends). The worker catches
the ``KeyboardInterrupt`` as a notebook kernel does, notes when it arrived, and stays alive 3 s
more. Reported per trial: requests the server received after the SIGINT, the interrupt's delay
(SIGINT to the ``except KeyboardInterrupt`` in the user's code), rows in the cache file, and the
requests of a re-run of the same rows with the same cache (and how many of them the server had
answered before: paid twice). ``--compare`` runs the same trials with the package from another
checkout (e.g. the main branch).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from bench_kill import REPO, answered_before, cached_rows, rerun, wait_answers, worker

LINGER = 3.0


def trial(server, package: Path, rows: int, tag: str, work: Path) -> dict:
    cache = work / f"{tag}.sqlite"
    server.reset()
    proc = worker(package, rows, tag, cache, linger=str(LINGER))
    wait_answers(server, rows // 4)
    sent_at, sent_mono = time.perf_counter(), time.monotonic()
    os.kill(proc.pid, signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    reached = next((line["interrupted_at"] for line in lines if "interrupted_at" in line), None)
    with server._lock:
        after = sum(1 for r in server.requests if r.started > sent_at)
    before = answered_before(server, time.perf_counter())
    result = {
        "after": after,
        "delay": None if reached is None else reached - sent_mono,
        "cached": cached_rows(cache),
        "answered": len(before),
    }
    result.update(rerun(server, package, rows, tag, cache, before))
    return result


def main() -> None:
    from support.fake_openai import FakeOpenAI

    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=400)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--compare", type=Path, default=None)
    args = parser.parse_args()
    os.environ["OPENAI_API_KEY"] = "sk-bench-interrupt"
    os.environ.pop("OPENAI_API_BASE", None)
    work = Path(tempfile.mkdtemp(prefix="bench-interrupt-"))
    sides = [("this tree", REPO)] + ([("compare", args.compare)] if args.compare else [])
    print(
        f"Command: `PYTHONPATH=. .venv/bin/python benchmarks/bench_interrupt.py --rows "
        f"{args.rows} --trials {args.trials}"
        + (f" --compare {args.compare}" if args.compare else "")
        + "`\n"
    )
    print(
        f"{args.rows} rows, fake OpenAI server 200 ms per answer, SIGINT once it has answered "
        f"{args.rows // 4}; the worker lives {LINGER:g} s after the interrupt (a notebook "
        f"kernel). Load average at start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores).\n"
    )
    print(
        "| package | trial | requests after the SIGINT | SIGINT -> user's except | "
        "answers sent by the server | rows cached | re-run requests | prompts paid twice |"
    )
    print("|---|---|---|---|---|---|---|---|")
    with FakeOpenAI(latency=0.2) as server:
        os.environ["OPENAI_BASE_URL"] = server.base_url
        for name, package in sides:
            for t in range(args.trials):
                r = trial(server, package, args.rows, f"i{name[:4]}{t}-", work)
                delay = "-" if r["delay"] is None else f"{r['delay']:.2f} s"
                print(
                    f"| {name} ({package}) | {t + 1} | {r['after']} | {delay} | "
                    f"{r['answered']} | {r['cached']} | {r['rerun_requests']} | "
                    f"{r['paid_twice']} |",
                    flush=True,
                )
    print(f"\nLoad average at the end: {os.getloadavg()[0]:.1f}.")


if __name__ == "__main__":
    sys.exit(main())
