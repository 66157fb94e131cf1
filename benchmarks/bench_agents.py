"""Speed of the agent metrics: tool-call metrics' rows/s, and the retriever metrics against
MLflow's default evaluator on the same rows.

Run: ``taskset -c 0 .venv/bin/python benchmarks/bench_agents.py [--rows 100000]``. Prints
markdown tables:

1. Tool calls: ``tool_call_correctness`` (each mode), ``tool_call_f1`` and
   ``tool_call_efficiency`` scoring ``--rows`` rows in one ``score_batch`` (as the evaluator
   runs a metric), rows per CPU second of this process (``time.process_time``; on a shared
   machine the wall time also counts other processes' turns) and the wall seconds. Rows: 1-4 calls in OpenAI chat-completions format with
   arguments as JSON text (each parsed), expected calls as plain dicts; a fixed seed.
2. Retriever: ``mlflow.evaluate(data, predictions=, targets=, model_type="retriever")`` with
   ``evaluators="default"`` (MLflow's ``precision_at_3``, ``recall_at_3``, ``ndcg_at_3``) and
   with ``evaluators="llm_eval"``, same static data, wall seconds of the whole call (logging
   included) and the ratio; then whether every per-row score and every MLflow metric value is
   identical (``==``, not approximately).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time

NAMES = ["search", "weather", "add", "lookup", "translate", "book_flight"]


def tool_rows(n: int, seed: int = 11) -> tuple[list, list]:
    rng = random.Random(seed)
    actual, expected = [], []
    for _ in range(n):
        calls = [
            {
                "name": rng.choice(NAMES),
                "arguments": {"query": f"q{rng.randrange(50)}", "limit": rng.randrange(1, 9)},
            }
            for _ in range(rng.randrange(1, 4))
        ]
        made = [dict(c, arguments=dict(c["arguments"])) for c in calls]
        roll = rng.random()
        if roll < 0.2:
            rng.shuffle(made)
        elif roll < 0.35:
            made.append(dict(made[0]))
        elif roll < 0.5:
            made[0]["arguments"]["limit"] += 1
        actual.append(
            [
                {
                    "id": f"call_{i}",
                    "type": "function",
                    "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])},
                }
                for i, c in enumerate(made)
            ]
        )
        expected.append(calls)
    return actual, expected


def bench_tool_calls(n: int) -> list[str]:
    from mlflow_llm_eval.function_metrics.tool_calls import (
        tool_call_correctness,
        tool_call_efficiency,
        tool_call_f1,
    )

    actual, expected = tool_rows(n)
    rows = {"tool_calls": actual, "expected_tool_calls": expected}
    lines = [
        "| metric | rows | wall s | CPU s | rows per CPU second | goal 50,000 rows/s |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for label, metric in [
        ("tool_call_correctness (set)", tool_call_correctness()),
        ("tool_call_correctness (sequence)", tool_call_correctness(mode="sequence")),
        ("tool_call_correctness (subset)", tool_call_correctness(mode="subset")),
        (
            "tool_call_correctness (argument_keys=[query])",
            tool_call_correctness(argument_keys=["query"]),
        ),
        ("tool_call_f1", tool_call_f1()),
        ("tool_call_efficiency", tool_call_efficiency()),
    ]:
        started, cpu_started = time.perf_counter(), time.process_time()
        result = metric.score_batch(rows)
        cpu = time.process_time() - cpu_started
        seconds = time.perf_counter() - started
        assert len(result) == n and all(s == "ok" for s in result.statuses)
        rate = n / cpu
        lines.append(
            f"| {label} | {n:,} | {seconds:.2f} | {cpu:.2f} | {rate:,.0f} | "
            f"{'met' if rate >= 50_000 else 'missed'} |"
        )
    return lines


def retrieval_frame(n: int, seed: int = 3):
    import pandas as pd

    rng = random.Random(seed)
    docs = [f"doc{i}" for i in range(40)]
    return pd.DataFrame(
        {
            "question": [f"q{i}?" for i in range(n)],
            "relevant": [rng.sample(docs, rng.randrange(0, 5)) for _ in range(n)],
            "retrieved": [[rng.choice(docs) for _ in range(rng.randrange(0, 7))] for _ in range(n)],
        }
    )


def bench_retriever(n: int) -> list[str]:
    import warnings

    import mlflow
    import pandas as pd

    warnings.filterwarnings("ignore")
    tmp = tempfile.mkdtemp(prefix="bench_agents_")
    mlflow.set_tracking_uri(f"sqlite:///{tmp}/mlflow.db")
    mlflow.set_experiment("bench_agents")
    frame = retrieval_frame(n)
    seconds, results = {}, {}
    for evaluator in ("default", "llm_eval"):
        with mlflow.start_run():
            started = time.perf_counter()
            results[evaluator] = mlflow.evaluate(
                data=frame,
                predictions="retrieved",
                targets="relevant",
                model_type="retriever",
                evaluators=evaluator,
            )
            seconds[evaluator] = time.perf_counter() - started
    theirs, ours = results["default"], results["llm_eval"]
    same_metrics = all(ours.metrics[k] == v for k, v in theirs.metrics.items())
    their_table = theirs.tables["eval_results_table"]
    our_table = ours.tables["eval_results_table"]
    columns = [c for c in their_table.columns if c.endswith("/score")]
    same_rows = all(
        pd.Series(our_table[c]).tolist() == pd.Series(their_table[c]).tolist() for c in columns
    )
    ratio = seconds["default"] / seconds["llm_eval"]
    return [
        "| evaluator | rows | seconds (mlflow.evaluate, whole call) |",
        "|---|---:|---:|",
        f"| MLflow default (precision_at_3, recall_at_3, ndcg_at_3) | {n:,} | {seconds['default']:.2f} |",
        f"| llm_eval (same metrics) | {n:,} | {seconds['llm_eval']:.2f} |",
        "",
        (
            f"Ratio (MLflow / llm_eval): **{ratio:.1f}x**. Identical values: per-row scores of "
            f"{columns}: **{same_rows}**; the {len(theirs.metrics)} MLflow metrics: "
            f"**{same_metrics}**."
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--skip-retriever", action="store_true")
    args = parser.parse_args()
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    print(f"python {sys.version.split()[0]}, cores available to this process: {cores}\n")
    print("\n".join(bench_tool_calls(args.rows)))
    if not args.skip_retriever:
        print()
        print("\n".join(bench_retriever(args.rows)))


if __name__ == "__main__":
    main()
