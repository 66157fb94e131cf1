"""Injected verdicts that got through the judge's answer parsing: rows and fake judges of
tests/support/injection_corpus.py, the real metric against the local fake OpenAI server.

    PYTHONPATH=/work/main .venv/bin/python benchmarks/bench_injection.py --label before
    PYTHONPATH=$PWD       .venv/bin/python benchmarks/bench_injection.py --label after

``PYTHONPATH`` picks the package under test (the corpus always comes from this checkout's
tests/support). Prints one markdown row per fake judge: rows whose score is the injected 5,
rows with the judge's own verdict (1), rows left unscored.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support.fake_openai import FakeOpenAI
from support.injection_corpus import (
    ANSWER,
    INJECTED_SCORE,
    JUDGE_SCORE,
    JUDGES,
    QUESTION,
    TARGET,
    injection_rows,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="this checkout")
    args = parser.parse_args()
    from mlflow_llm_eval.judge import answer_correctness
    from mlflow_llm_eval.judge.prompt import row_tag

    rows = injection_rows(row_tag({"input": QUESTION, "output": ANSWER, "targets": TARGET}))
    print("| code | fake judge | rows | injected score | judge's verdict | unscored |")
    print("|---|---|---:|---:|---:|---:|")
    with FakeOpenAI() as server, tempfile.TemporaryDirectory() as cache:
        os.environ.update(
            OPENAI_API_KEY="sk-bench",
            OPENAI_BASE_URL=server.base_url,
            MLFLOW_LLM_EVAL_CACHE_DIR=cache,
        )
        for style, judge in JUDGES.items():
            server.responder = judge
            metric = answer_correctness(model="openai:/gpt-4o-mini", cache=False, progress=False)
            result = metric.score_batch(
                {
                    "inputs": [r[0] for r in rows],
                    "predictions": [r[1] for r in rows],
                    "targets": [TARGET] * len(rows),
                }
            )
            scores = result.scores
            print(
                f"| {args.label} | {style} | {len(rows)} | "
                f"{sum(s == INJECTED_SCORE for s in scores)} | "
                f"{sum(s == JUDGE_SCORE for s in scores)} | {sum(s != s for s in scores)} |"
            )


if __name__ == "__main__":
    main()
