"""Ctrl-C during a judge run: requests sent after the interrupt, answers kept, time to the user.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_interrupt.py [--rows 400] [--trials 3] \
        [--compare /path/to/other/checkout] [--busy 2]

A separate process (the worker of benchmarks/bench_kill.py) judges ``--rows`` rows against the
local fake OpenAI server (run in this process, 200 ms per answer). Once the server has answered
a quarter of them this process sends the worker SIGINT (what Ctrl-C sends). The worker catches
the ``KeyboardInterrupt`` as a notebook kernel does, notes when it arrived, and stays alive 3 s
more. Reported per trial:

- requests sent after the interrupt, measured as tests/chat/test_interrupt.py does: the engine
  acknowledges the interrupt once it has stopped sending (its log line "interrupted: nothing
  more is sent (N requests sent, ...)", caught by the worker), and every request the server
  received beyond those N (counted once the worker has lived 3 s more) was sent after it;
- the interrupt's delay (SIGINT to the ``except KeyboardInterrupt`` in the user's code);
- answers the server sent, rows in the cache file, and the requests of a re-run of the same rows
  with the same cache (and how many of them the server had answered before: paid twice).

``--compare`` runs the same trials with the package from another checkout (a package without
the acknowledgement shows "-"); ``--busy N`` runs N busy loops meanwhile (bench_kill.py).
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

from bench_kill import (
    REPO,
    answered_before,
    busy_loops,
    cached_rows,
    rerun,
    stop,
    wait_answers,
    worker,
)

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
    interrupted = next((line for line in lines if "interrupted_at" in line), {})
    reached = interrupted.get("interrupted_at")
    at_halt = interrupted.get("sent_at_halt")
    with server._lock:
        received = len(server.requests)
        after_signal = sum(1 for r in server.requests if r.started > sent_at)
    before = answered_before(server, time.perf_counter())
    result = {
        "at_halt": at_halt,
        "received": received,
        "after": None if at_halt is None else received - at_halt,
        "after_signal": after_signal,
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
    parser.add_argument("--busy", type=int, default=0, help="busy loops during the trials")
    args = parser.parse_args()
    os.environ["OPENAI_API_KEY"] = "sk-bench-interrupt"
    os.environ.pop("OPENAI_API_BASE", None)
    work = Path(tempfile.mkdtemp(prefix="bench-interrupt-"))
    sides = [("this tree", REPO)] + ([("compare", args.compare)] if args.compare else [])
    print(
        f"Command: `PYTHONPATH=. .venv/bin/python benchmarks/bench_interrupt.py --rows "
        f"{args.rows} --trials {args.trials}"
        + (f" --compare {args.compare}" if args.compare else "")
        + (f" --busy {args.busy}" if args.busy else "")
        + "`\n"
    )
    busy = busy_loops(args.busy)
    try:
        print(
            f"{args.rows} rows, fake OpenAI server 200 ms per answer, SIGINT once it has "
            f"answered {args.rows // 4}; the worker lives {LINGER:g} s after the interrupt (a "
            f"notebook kernel); {args.busy} busy loops. Load average at start: "
            f"{os.getloadavg()[0]:.1f} ({os.cpu_count()} cores).\n"
        )
        print(
            "| package | trial | sent when the engine stopped | received by the server | "
            "sent after the interrupt | received after the SIGINT | SIGINT -> user's except | "
            "answers sent by the server | rows cached | re-run requests | prompts paid twice |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        with FakeOpenAI(latency=0.2) as server:
            os.environ["OPENAI_BASE_URL"] = server.base_url
            for t in range(args.trials):  # the sides alternate: the same load for both
                for name, package in sides:
                    r = trial(server, package, args.rows, f"i{name[:4]}{t}-", work)
                    delay = "-" if r["delay"] is None else f"{r['delay']:.2f} s"
                    print(
                        f"| {name} ({package}) | {t + 1} | {_or_dash(r['at_halt'])} | "
                        f"{r['received']} | {_or_dash(r['after'])} | {r['after_signal']} | "
                        f"{delay} | {r['answered']} | {r['cached']} | {r['rerun_requests']} | "
                        f"{r['paid_twice']} |",
                        flush=True,
                    )
        print(f"\nLoad average at the end: {os.getloadavg()[0]:.1f}.")
    finally:
        stop(busy)


def _or_dash(value: int | None) -> str:
    return "-" if value is None else str(value)


if __name__ == "__main__":
    sys.exit(main())
