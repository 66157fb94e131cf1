"""Several endpoint models on one dataset: ``evaluate_models`` (parallel child runs) vs a loop.

The reference is what a user writes today: one ``mlflow.evaluate(model=fn, ...)`` per model, in
a loop, with MLflow's default evaluator (``exact_match`` and ``latency``, which predicts row by
row). Ours evaluates the same models with the same metrics through ``evaluate_models``, once with
``max_workers=1`` (the runner's own overhead: reports, comparison, child runs) and once in
parallel. Each model is an OpenAI-compatible endpoint served by the local fake server with a
fixed latency per request, the same client for both sides.

    .venv/bin/python benchmarks/bench_multi_model.py --models 4 --rows 40 --latency 0.05
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=4)
    parser.add_argument("--rows", type=int, default=40)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / "multi_model.md"
    )
    args = parser.parse_args()

    import mlflow
    import pandas as pd
    from support.fake_openai import FakeOpenAI

    from mlflow_llm_eval.runner import evaluate_models
    from mlflow_llm_eval.judge.endpoint_model import EndpointModel

    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    folder = Path(tempfile.mkdtemp(prefix="bench-multi-"))
    mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow.db'}")
    data = pd.DataFrame(
        {
            "question": [f"question {i}?" for i in range(args.rows)],
            "answer": ["Paris" if i % 2 else "London" for i in range(args.rows)],
        }
    )
    names = [f"model-{i}" for i in range(args.models)]
    results: list[tuple[str, float]] = []
    with FakeOpenAI(responder=lambda prompt: "Paris", latency=args.latency) as server:
        os.environ.update(OPENAI_API_KEY="sk-bench", OPENAI_BASE_URL=server.base_url)
        mlflow.set_experiment("bench-loop")
        evaluate_models(_config(names[:1], 1), data=data)  # warm-up: imports, tables, DB
        started = time.perf_counter()
        for name in names:
            model = EndpointModel.from_uri(f"openai:/{name}", "{question}")
            with mlflow.start_run(run_name=name):
                mlflow.evaluate(
                    model=model,
                    data=data,
                    targets="answer",
                    model_type=None,
                    evaluators="default",
                    extra_metrics=[mlflow.metrics.exact_match(), mlflow.metrics.latency()],
                )
        results.append(
            (
                "loop of mlflow.evaluate, default evaluator (reference)",
                time.perf_counter() - started,
            )
        )
        for workers in (1, args.models):
            started = time.perf_counter()
            outcome = evaluate_models(_config(names, workers), data=data)
            assert not outcome.failed, [o.failure for o in outcome.failed]
            results.append(
                (f"evaluate_models, max_workers={workers}", time.perf_counter() - started)
            )
    _write(args, results)


def _config(names: list[str], workers: int) -> dict:
    return {
        "experiment": "bench-multi",
        "dataset": {"inputs": "question", "targets": "answer"},
        "models": [
            {"name": n, "endpoint": f"openai:/{n}", "prompt_template": "{question}"} for n in names
        ],
        "metrics": ["exact_match", "latency"],
        "select": {"maximize": "exact_match/v1/mean"},
        "max_workers": workers,
    }


def _write(args: argparse.Namespace, results: list[tuple[str, float]]) -> None:
    reference = results[0][1]
    total_rows = args.models * args.rows
    lines = [
        "# Several models, one dataset: evaluate_models vs a loop of mlflow.evaluate",
        "",
        f"Command: `.venv/bin/python benchmarks/bench_multi_model.py --models {args.models} "
        f"--rows {args.rows} --latency {args.latency}`  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f} at the end (other jobs share the machine)",
        "",
        f"{args.models} endpoint models x {args.rows} rows, {args.latency * 1000:.0f} ms per request "
        "(local OpenAI-compatible server), metrics exact_match + latency (rows predicted one by one).",
        "",
        "| variant | seconds | rows/s | speed-up vs loop |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {name} | {sec:.2f} | {total_rows / sec:,.1f} | {reference / sec:.2f}x |"
        for name, sec in results
    ]
    lines += [
        "",
        "Ours also writes one HTML report per model, the comparison table and report, and "
        "picks a winner; the loop does none of that.",
    ]
    text = "\n".join(lines) + "\n"
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
