"""LLM-as-judge: MLflow's answer_similarity vs ours, both through mlflow.evaluate, same server.

    .venv/bin/python benchmarks/bench_judge.py [--rows 200 1000] > benchmarks/results/judge.md

The judge is tests/support/fake_openai.py run as a separate process (so it does not share a GIL
with either side): OpenAI chat-completions protocol, 200 ms latency per request. MLflow reaches
it through OPENAI_API_BASE (mlflow/metrics/genai/model_utils.py, ``requests.post`` per row);
ours through the same variable with the ``openai`` client. Both run with default settings:
MLflow ``mlflow.evaluate(..., evaluators="default", extra_metrics=[
mlflow.metrics.genai.answer_similarity(model="openai:/gpt-4o-mini")])``, ours
``evaluators="llm_eval", extra_metrics=[mlflow_llm_eval.judge.answer_similarity(model=...)]``
with a fresh cache file. A warm-up call per side (5 other rows) loads imports first.

Faults: a second server answers 10% of requests with HTTP 429 (Retry-After: 0.05 s), 5% with
HTTP 500 and 5% with a garbage (non-JSON) answer, exact per 100 requests. "Rows lost" = rows
whose score is missing/NaN in the evaluation table.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODEL = "openai:/gpt-4o-mini"
COLUMN = "answer_similarity/v1/score"


class Server:
    """The fake judge in its own process; ``stats()``/``reset()`` over HTTP."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(REPO / "tests/support/fake_openai.py"), *args],
            stdout=subprocess.PIPE, text=True)
        self.base_url = self.proc.stdout.readline().strip()
        self.root = self.base_url.removesuffix("/v1")

    def stats(self) -> dict:
        return json.load(urllib.request.urlopen(f"{self.root}/_stats"))

    def reset(self) -> None:
        urllib.request.urlopen(urllib.request.Request(f"{self.root}/_reset", data=b"", method="POST"))

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()


def frame(n: int, tag: str):
    import pandas as pd

    return pd.DataFrame({
        "inputs": [f"What does component {tag}{i} of the platform do?" for i in range(n)],
        "predictions": [f"Component {tag}{i} tracks experiments and stores models." for i in range(n)],
        "ground_truth": [f"Component {tag}{i} records runs, parameters and models." for i in range(n)],
    })


def run(side: str, server: Server, data, cache_file: Path) -> dict:
    import mlflow

    os.environ["OPENAI_API_BASE"] = server.base_url
    if side == "mlflow":
        from mlflow.metrics.genai import answer_similarity

        metric, evaluator = answer_similarity(model=MODEL), "default"
    else:
        from mlflow_llm_eval.judge import answer_similarity

        metric = answer_similarity(model=MODEL, cache=str(cache_file), progress=False)
        evaluator = "llm_eval"
    server.reset()
    started = time.perf_counter()
    with mlflow.start_run():
        result = mlflow.evaluate(data=data, predictions="predictions", targets="ground_truth",
                                 evaluators=evaluator, extra_metrics=[metric])
    seconds = time.perf_counter() - started
    scores = result.tables["eval_results_table"][COLUMN].tolist()
    lost = sum(s is None or (isinstance(s, float) and math.isnan(s)) for s in scores)
    return {"seconds": seconds, "rows_per_s": len(data) / seconds, "lost": lost,
            "requests": server.stats()["requests"], "rows": len(data)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[200, 1000])
    args = parser.parse_args()
    import logging
    import warnings

    import mlflow

    warnings.filterwarnings("ignore")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ["OPENAI_API_KEY"] = "sk-bench"
    os.environ.pop("OPENAI_BASE_URL", None)
    work = Path(tempfile.mkdtemp(prefix="bench-judge-"))
    mlflow.set_tracking_uri(f"sqlite:///{work / 'mlflow.db'}")
    mlflow.set_experiment("bench-judge")
    clean = Server("--latency", "0.2")
    faulty = Server("--latency", "0.2", "--rate-limit", "0.1", "--server-error", "0.05",
                    "--garbage", "0.05", "--retry-after", "0.05")
    print("Command: `.venv/bin/python benchmarks/bench_judge.py --rows "
          + " ".join(map(str, args.rows)) + " > benchmarks/results/judge.md`\n")
    try:
        for side in ("mlflow", "ours"):  # warm-up: imports, first connections
            run(side, clean, frame(5, f"warm-{side}-"), work / "warm.sqlite")
        for rows in args.rows:
            data = frame(rows, f"n{rows}-")
            results = {
                ("mlflow", "speed"): run("mlflow", clean, data, work / "unused.sqlite"),
                ("ours", "speed"): run("ours", clean, data, work / f"speed{rows}.sqlite"),
                ("mlflow", "faults"): run("mlflow", faulty, data, work / "unused.sqlite"),
                ("ours", "faults"): run("ours", faulty, data, work / f"faults{rows}.sqlite"),
                ("mlflow", "rerun"): run("mlflow", clean, data, work / "unused.sqlite"),
                ("ours", "rerun"): run("ours", clean, data, work / f"speed{rows}.sqlite"),
            }
            report(rows, results)
    finally:
        clean.stop()
        faulty.stop()
    print("\nMLflow's request counts include the one row its default evaluator scores first "
          "(\"Testing metrics on first row\"). Wall-clock times include all of `mlflow.evaluate` "
          "(dataset hashing, logging the table and metrics to a sqlite store). Ours runs with "
          "its defaults: adaptive concurrency from 8 up to 64 requests in flight, a fresh cache "
          "file per case (the re-run reuses the first run's).")


def report(rows: int, r: dict) -> None:
    import mlflow

    def cell(side: str, case: str) -> str:
        x = r[(side, case)]
        return (f"{x['rows_per_s']:.1f} rows/s ({x['seconds']:.2f} s), lost {x['lost']}, "
                f"{x['requests']} requests ({x['requests'] / x['rows']:.2f}/row)")

    speed = r[("ours", "speed")]["rows_per_s"] / r[("mlflow", "speed")]["rows_per_s"]
    print(f"### {rows} rows\n")
    print(f"answer_similarity over {rows} rows through `mlflow.evaluate`, judge = local "
          f"OpenAI-compatible server (separate process) with 200 ms latency per request. "
          f"MLflow {mlflow.__version__}, Python {platform.python_version()}, "
          f"{os.cpu_count()} CPU cores (shared machine: timings are noisy).\n")
    print("| case | MLflow `mlflow.metrics.genai.answer_similarity` (default evaluator) | "
          "ours `mlflow_llm_eval.judge.answer_similarity` (`llm_eval`) | ratio (rows/s) |")
    print("|---|---|---|---|")
    names = {"speed": "clean server, first run",
             "faults": "10% 429 + 5% 500 + 5% garbage answers",
             "rerun": "identical re-run (clean server)"}
    for case, name in names.items():
        ratio = r[("ours", case)]["rows_per_s"] / r[("mlflow", case)]["rows_per_s"]
        print(f"| {name} | {cell('mlflow', case)} | {cell('ours', case)} | {ratio:.1f}x |")
    f = r[("ours", "faults")]
    print(f"\nSpeed (first run, default settings): ours {speed:.1f}x MLflow. Under faults ours lost "
          f"{f['lost']} rows with {f['requests'] / f['rows']:.2f} requests per row; MLflow lost "
          f"{r[('mlflow', 'faults')]['lost']}. Identical re-run: ours sent "
          f"{r[('ours', 'rerun')]['requests']} requests (on-disk cache), MLflow "
          f"{r[('mlflow', 'rerun')]['requests']}.")


if __name__ == "__main__":
    main()
