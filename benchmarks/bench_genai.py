"""MLflow 3 ``mlflow.genai.evaluate``: MLflow's builtin Correctness vs ``le.scorers.answer_correctness``,
our scorers' batcher vs per-call, and the harness overhead for a function scorer (rougeL).

    .venv/bin/python benchmarks/bench_genai.py [--rows 200] [--workers 4]   # writes --out

Judge: tests/support/fake_openai_genai.py in its own process (OpenAI protocol, 200 ms per
request; answers MLflow's yes/no format and ours). MLflow's judges reach it through
OPENAI_BASE_URL (mlflow/metrics/genai/model_utils.py: the gateway adapter, no litellm here);
ours through the same variable with the ``openai`` client. Every ``mlflow.genai.evaluate`` runs
on a sqlite store with ``MLFLOW_GENAI_EVAL_MAX_WORKERS=<workers>`` and
``MLFLOW_ENABLE_ASYNC_TRACE_LOGGING=false`` (with MLflow's default pool sizes sqlite's connection
pool is exhausted and traces are dropped); MLflow's other settings are its defaults (scorer rate
limiter "auto": 10 calls/s per scorer, adaptive up to 20; 3 retries of a rate-limited call).
"Rows lost" = rows without a scored assessment of the judge (error Feedback, or no trace).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODEL = "openai:/gpt-4o-mini"


class Server:
    """The fake judge in its own process; ``stats()`` / ``reset(**faults)`` over HTTP."""

    def __init__(self, latency: float) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(REPO / "tests/support/fake_openai_genai.py"),
                "--latency",
                str(latency),
            ],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO / "tests/support")},
        )
        self.base_url = self.proc.stdout.readline().strip()
        self.root = self.base_url.removesuffix("/v1")

    def stats(self) -> dict:
        return json.load(urllib.request.urlopen(f"{self.root}/_stats"))

    def reset(self, **faults: float) -> None:
        body = json.dumps(faults).encode() if faults else b""
        urllib.request.urlopen(
            urllib.request.Request(f"{self.root}/_reset", data=body, method="POST")
        )

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()


def rows(n: int, tag: str) -> list[dict]:
    return [
        {
            "inputs": {"question": f"[{tag}] What is fact number {i} about topic {i % 17}?"},
            "outputs": f"Fact {i} is that topic {i % 17} has property {i * 7 % 23}.",
            "expectations": {"expected_response": f"Topic {i % 17} has property {i * 7 % 23}."},
        }
        for i in range(n)
    ]


def genai_run(scorer, data: list[dict], server: Server | None, name: str) -> dict:
    """One mlflow.genai.evaluate run: rows/s, requests sent, rows without a scored assessment."""
    import mlflow

    before = server.stats()["requests"] if server else 0
    mlflow.set_experiment(f"{name}-{time.time_ns()}")
    started = time.perf_counter()
    result = mlflow.genai.evaluate(data=data, scorers=[scorer])
    seconds = time.perf_counter() - started
    scored = 0
    for assessments in result.result_df["assessments"]:
        scored += any(
            a["assessment_name"] == scorer.name
            and a.get("feedback") is not None
            and a["feedback"].get("error") is None
            for a in assessments
        )
    return {
        "seconds": seconds,
        "rows_per_s": len(data) / seconds,
        "lost": len(data) - scored,
        "requests": (server.stats()["requests"] - before) if server else None,
        "traces": len(result.result_df),
    }


def classic_run(metric, data: list[dict], server: Server | None) -> dict:
    import mlflow
    import pandas as pd

    frame = pd.DataFrame(
        {
            "inputs": [r["inputs"]["question"] for r in data],
            "predictions": [r["outputs"] for r in data],
            "targets": [r["expectations"]["expected_response"] for r in data],
        }
    )
    before = server.stats()["requests"] if server else 0
    mlflow.set_experiment(f"classic-{time.time_ns()}")
    started = time.perf_counter()
    with mlflow.start_run():
        result = mlflow.evaluate(
            data=frame,
            targets="targets",
            predictions="predictions",
            model_type=None,
            evaluators="llm_eval",
            extra_metrics=[metric],
        )
    seconds = time.perf_counter() - started
    table = result.tables["eval_results_table"]
    return {
        "seconds": seconds,
        "rows_per_s": len(data) / seconds,
        "lost": int(table[f"{metric.key}/score"].isna().sum()),
        "requests": (server.stats()["requests"] - before) if server else None,
    }


def toxicity_batching(n: int, threads: int) -> dict:
    """Concurrent per-row toxicity calls (as MLflow's threads make them): batched vs not."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from bench_toxicity import build_model, make_texts

    import mlflow_llm_eval as le

    model = build_model(Path(tempfile.mkdtemp()) / "tox")
    texts = make_texts(n)
    out = {}
    for label, batch in (("per-call (batch_size=1)", 1), (f"batched (up to {threads})", threads)):
        scorer = le.scorers.toxicity(
            model=str(model), device="cpu", batch_size=batch, batch_window=0.05
        )
        scorer(outputs="warm up")
        scorer._batcher.stats.sizes.clear()
        started = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            values = list(pool.map(lambda t: scorer(outputs=t).value, texts))
        seconds = time.perf_counter() - started
        sizes = scorer.batch_stats.sizes
        out[label] = {
            "rows_per_s": n / seconds,
            "batches": len(sizes),
            "mean_batch": sum(sizes) / max(1, len(sizes)),
            "values": values,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--tox-rows", type=int, default=64)
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO / "benchmarks/results/genai.md",
        help="the results file (MLflow prints its run banners on stdout)",
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-genai-"))
    os.chdir(work)
    load_before = os.getloadavg()[0]
    server = Server(args.latency)
    os.environ.update(
        {
            "OPENAI_API_KEY": "sk-bench",
            "OPENAI_BASE_URL": server.base_url,
            "MLFLOW_GENAI_EVAL_MAX_WORKERS": str(args.workers),
            "MLFLOW_ENABLE_ASYNC_TRACE_LOGGING": "false",
            "MLFLOW_ENABLE_ASYNC_LOGGING": "false",
            "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}",
            "MLFLOW_LLM_EVAL_CACHE_DIR": str(work / "cache"),
            "HF_HUB_OFFLINE": "1",
        }
    )
    import mlflow
    from mlflow.genai.scorers import Correctness, scorer

    import mlflow_llm_eval as le

    mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
    n = args.rows
    data = rows(n, "a")
    warm = rows(5, "warm")  # imports, tables, clients: outside the timed runs
    for warm_scorer in (
        le.scorers.rougeL(),
        Correctness(model=MODEL),
        le.scorers.answer_correctness(model=MODEL, cache=False),
    ):
        genai_run(warm_scorer, warm, None, "warm-up")
    classic_run(le.answer_correctness(model=MODEL, cache=False), warm, None)
    r: dict[str, dict] = {}
    try:
        r["mlflow clean"] = genai_run(Correctness(model=MODEL), data, server, "mlflow")
        server.reset(rate_limit=0.1)
        r["mlflow 429"] = genai_run(Correctness(model=MODEL), data, server, "mlflow")
        server.reset(rate_limit=0.0)
        r["mlflow rerun"] = genai_run(Correctness(model=MODEL), data, server, "mlflow")
        ours = le.scorers.answer_correctness(model=MODEL)  # fresh cache: first run
        r["ours clean"] = genai_run(ours, data, server, "ours")
        r["ours rerun"] = genai_run(
            le.scorers.answer_correctness(model=MODEL), data, server, "ours"
        )
        server.reset(rate_limit=0.1)
        r["ours 429"] = genai_run(
            le.scorers.answer_correctness(model=MODEL, cache=False), data, server, "ours"
        )
        server.reset(rate_limit=0.0)
        per_call = le.scorers.answer_correctness(model=MODEL, cache=False, batch_size=1)
        r["ours per-call"] = genai_run(per_call, data, server, "ours")
        batched = le.scorers.answer_correctness(model=MODEL, cache=False)
        r["ours batched"] = genai_run(batched, data, server, "ours")
        r["ours batched"]["mean_batch"] = sum(batched.batch_stats.sizes) / len(
            batched.batch_stats.sizes
        )
        r["classic clean"] = classic_run(
            le.answer_correctness(model=MODEL, cache=False), data, server
        )
        server.reset(rate_limit=0.1)
        r["classic 429"] = classic_run(
            le.answer_correctness(model=MODEL, cache=False), data, server
        )
        server.reset(rate_limit=0.0)
    finally:
        server.stop()

    @scorer
    def trivial(outputs) -> float:
        return float(len(outputs) > 0)

    r["rougeL genai"] = genai_run(le.scorers.rougeL(), data, None, "rouge")
    r["trivial genai"] = genai_run(trivial, data, None, "trivial")
    r["rougeL classic"] = classic_run(le.rougeL(), data, None)
    tox = toxicity_batching(args.tox_rows, args.workers * 2)
    text = report(r, tox, args, load_before)
    args.out.write_text(text)
    print(text)


def _cell(x: dict) -> str:
    requests = "" if x.get("requests") is None else f", {x['requests']} requests"
    return f"{x['rows_per_s']:.1f} rows/s ({x['seconds']:.1f} s), lost {x['lost']}{requests}"


def report(r: dict, tox: dict, args: argparse.Namespace, load_before: float) -> str:
    import mlflow

    lines: list[str] = []
    print = lines.append  # noqa: A001 - the report's lines, written to --out

    n = args.rows
    print(
        f"Command: `.venv/bin/python benchmarks/bench_genai.py --rows {n} --workers "
        f"{args.workers}` (writes benchmarks/results/genai.md)\n"
    )
    print(
        f"MLflow {mlflow.__version__}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPU cores shared with other jobs (load average {load_before:.1f} "
        f"at start, {os.getloadavg()[0]:.1f} at the end: timings are noisy). sqlite store, "
        f"MLFLOW_GENAI_EVAL_MAX_WORKERS={args.workers}, synchronous trace logging, judge "
        f"server {int(args.latency * 1000)} ms per request.\n"
    )
    print(f"### Judges: {n} rows through `mlflow.genai.evaluate`\n")
    print(
        "| case | MLflow builtin `Correctness` | ours `le.scorers.answer_correctness` |"
        " classic `llm_eval` path (reference) |"
    )
    print("|---|---|---|---|")
    print(
        f"| clean server, first run | {_cell(r['mlflow clean'])} | {_cell(r['ours clean'])} | "
        f"{_cell(r['classic clean'])} |"
    )
    print(
        f"| 10% HTTP 429 | {_cell(r['mlflow 429'])} | {_cell(r['ours 429'])} | "
        f"{_cell(r['classic 429'])} |"
    )
    print(f"| identical re-run | {_cell(r['mlflow rerun'])} | {_cell(r['ours rerun'])} | — |")
    print(f"\n### Our batcher vs one engine per call (judge, {n} rows, cache off, clean)\n")
    print("| variant | result |\n|---|---|")
    print(
        f"| `batch_size=1` (each MLflow call = one `score_batch`) | {_cell(r['ours per-call'])} |"
    )
    print(
        f"| dynamic batcher (default, up to 64, 10 ms window) | {_cell(r['ours batched'])}, "
        f"mean batch {r['ours batched']['mean_batch']:.1f} rows |"
    )
    print(
        f"\n### Toxicity, {args.tox_rows} concurrent per-row calls from {args.workers * 2} "
        "threads (roberta-base-sized model, random weights, CPU), outside MLflow\n"
    )
    print("| variant | rows/s | batches | mean batch |\n|---|---:|---:|---:|")
    for label, x in tox.items():
        print(f"| {label} | {x['rows_per_s']:.1f} | {x['batches']} | {x['mean_batch']:.1f} |")
    a, b = tox.values()
    dev = max(abs(u - v) for u, v in zip(a["values"], b["values"]))
    print(f"\nMax abs difference of the scores between the two: {dev:.1e}.")
    print(f"\n### Function scorer: rougeL, {n} rows (harness overhead)\n")
    print("| path | result |\n|---|---|")
    print(f"| `mlflow.genai.evaluate` + `le.scorers.rougeL()` | {_cell(r['rougeL genai'])} |")
    print(f"| `mlflow.genai.evaluate` + a trivial `@scorer` | {_cell(r['trivial genai'])} |")
    print(
        f'| classic `mlflow.evaluate(..., evaluators="llm_eval")` + `le.rougeL()` | '
        f"{_cell(r['rougeL classic'])} |"
    )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
