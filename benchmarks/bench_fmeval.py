"""FMEval's algorithms: ours vs FMEval's own code (and vs bert_score for BERTScore), one run.

    .venv/bin/python benchmarks/bench_fmeval.py [--rows 2000] [--pairs 24] [--repeats 2] \
        [--fmeval-python /tmp/fmeval-venv/bin/python] > benchmarks/results/fmeval.md

Text scores: ``factual_knowledge`` (both variants), the five ``qa_*`` scores and
``classification_accuracy`` on the same generated rows. FMEval runs in its own environment
(see tests/fmeval/make_reference.py for how it is installed), in a subprocess started by this
script: its ``FactualKnowledgeScores``, ``QAAccuracyScores`` and ``ClassificationAccuracyScores``
transforms are called once per record, as its pipelines do (the Ray orchestration around them
is not timed); the subprocess returns its values, and the table reports how many rows agree.

BERTScore: a roberta-base-sized encoder (12 layers, hidden 768) with random weights (no weights
can be downloaded here; speed does not depend on the values) and the test suite's small
byte-level BPE tokenizer; texts of ~40 words. Sides: ours (each text embedded once,
length-sorted batches of 8, and of 64), ``bert_score`` one pair per call (FMEval's
``BertscoreHelperModel``
calls ``evaluate``'s bertscore with one prediction), and ``bert_score`` with its default batch
of 64 pairs. CPU, 2 cores shared with other work: each side is timed ``--repeats`` times,
interleaved, and the best time is kept.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORDS = (
    "the a of paris france berlin germany tower capital river city largest planet jupiter "
    "saturn wrote hamlet shakespeare answer is it think red blue yellow green positive "
    "negative neutral maybe yes no iron gold"
).split()

FMEVAL_SIDE = r"""
import json, sys, time
sys.path.insert(0, sys.argv[2])
from make_reference import install_evaluate_stand_in
install_evaluate_stand_in()
from fmeval.eval_algorithms.factual_knowledge import FactualKnowledgeScores
from fmeval.eval_algorithms.qa_accuracy import QAAccuracyScores
from fmeval.eval_algorithms.classification_accuracy import ClassificationAccuracyScores
rows = json.load(open(sys.argv[1]))
fk, qa = FactualKnowledgeScores(), QAAccuracyScores()
labels = sorted({t for _, t in rows["classification"]})
ca = ClassificationAccuracyScores(valid_labels=labels)
out, seconds = {}, {}
start = time.perf_counter()
out["fk"] = [fk({"target_output": t, "model_output": p}) for p, t in rows["qa"]]
seconds["factual_knowledge (2 scores)"] = time.perf_counter() - start
start = time.perf_counter()
out["qa"] = [qa({"target_output": t, "model_output": p}) for p, t in rows["qa"]]
seconds["qa accuracy (5 scores)"] = time.perf_counter() - start
start = time.perf_counter()
out["ca"] = [ca({"target_output": t, "model_output": p})["classification_accuracy_score"]
             for p, t in rows["classification"]]
seconds["classification_accuracy"] = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "fk": out["fk"], "qa": out["qa"], "ca": out["ca"]}))
"""


def make_rows(n: int, seed: int = 0) -> dict:
    rng = random.Random(seed)
    sentence = lambda k: " ".join(rng.choice(WORDS) for _ in range(k))  # noqa: E731
    qa = []
    for _ in range(n):
        target = "<OR>".join(sentence(rng.randint(1, 3)) for _ in range(rng.randint(1, 3)))
        qa.append(
            (sentence(rng.randint(1, 12)).capitalize() + rng.choice([".", "!", "", " "]), target)
        )
    classification = [
        (sentence(rng.randint(1, 6)), rng.choice(["positive", "negative", "neutral"]))
        for _ in range(n)
    ]
    return {"qa": qa, "classification": classification}


def ours_text(rows: dict) -> tuple[dict, dict]:
    from mlflow_llm_eval.fmeval import (
        classification_accuracy,
        factual_knowledge,
        factual_knowledge_quasi_exact,
        qa_exact_match,
        qa_f1,
        qa_precision_over_words,
        qa_quasi_exact_match,
        qa_recall_over_words,
    )

    qa_batch = {"predictions": [p for p, _ in rows["qa"]], "targets": [t for _, t in rows["qa"]]}
    ca_batch = {
        "predictions": [p for p, _ in rows["classification"]],
        "targets": [t for _, t in rows["classification"]],
    }
    groups = {
        "factual_knowledge (2 scores)": (
            qa_batch,
            {
                "factual_knowledge": factual_knowledge(),
                "factual_knowledge_quasi_exact": factual_knowledge_quasi_exact(),
            },
        ),
        "qa accuracy (5 scores)": (
            qa_batch,
            {
                "exact_match_score": qa_exact_match(),
                "quasi_exact_match_score": qa_quasi_exact_match(),
                "f1_score": qa_f1(),
                "precision_over_words": qa_precision_over_words(),
                "recall_over_words": qa_recall_over_words(),
            },
        ),
        "classification_accuracy": (
            ca_batch,
            {"classification_accuracy_score": classification_accuracy()},
        ),
    }
    qa_f1().score_batch({"predictions": ["warm"], "targets": ["up"]})  # imports nltk once
    seconds, values = {}, {}
    for label, (batch, metrics) in groups.items():
        start = time.perf_counter()
        values[label] = {key: m.score_batch(batch).scores for key, m in metrics.items()}
        seconds[label] = time.perf_counter() - start
    return seconds, values


def fmeval_text(rows: dict, python: str) -> dict | None:
    if not python or not os.path.exists(python):
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(rows, handle)
    done = subprocess.run(
        [python, "-c", FMEVAL_SIDE, handle.name, str(ROOT / "tests" / "fmeval")],
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def agreement(ours: dict, theirs: dict) -> dict:
    keys = {
        "factual_knowledge (2 scores)": (
            "fk",
            ["factual_knowledge", "factual_knowledge_quasi_exact"],
        ),
        "qa accuracy (5 scores)": (
            "qa",
            [
                "exact_match_score",
                "quasi_exact_match_score",
                "f1_score",
                "precision_over_words",
                "recall_over_words",
            ],
        ),
    }
    out = {}
    for label, (field, names) in keys.items():
        total = same = 0
        for name in names:
            for mine, record in zip(ours[label][name], theirs[field]):
                total += 1
                same += math.isclose(mine, record[name], abs_tol=1e-12)
        out[label] = (same, total)
    mine = ours["classification_accuracy"]["classification_accuracy_score"]
    out["classification_accuracy"] = (sum(a == b for a, b in zip(mine, theirs["ca"])), len(mine))
    return out


def bertscore_side_by_side(pairs: int, repeats: int) -> list[tuple[str, float, float]]:
    import torch
    from transformers import AutoModel, RobertaConfig

    sys.path.insert(0, str(ROOT / "tests"))
    import bert_score
    from support.tiny_models import build_tokenizer

    from mlflow_llm_eval.fmeval.bertscore import bertscore

    rng = random.Random(1)
    texts = lambda: [" ".join(rng.choice(WORDS) for _ in range(40)) for _ in range(pairs)]  # noqa: E731
    predictions, targets = texts(), texts()
    directory = Path(tempfile.mkdtemp()) / "roberta-base-random"
    tokenizer = build_tokenizer(max_length=512)
    torch.manual_seed(0)
    config = RobertaConfig(
        vocab_size=len(tokenizer),
        max_position_embeddings=514,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )  # roberta-base sizes
    AutoModel.from_config(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    model_dir = str(directory)
    bert_score.utils.model2layers[model_dir] = 12
    torch.set_num_threads(2)
    rows = {"predictions": predictions, "targets": targets}

    ours8 = bertscore(model=model_dir, num_layers=12, device="cpu", batch_size=8)
    ours64 = bertscore(model=model_dir, num_layers=12, device="cpu", batch_size=64)
    scorer = bert_score.BERTScorer(model_type=model_dir, num_layers=12, device="cpu")
    sides = {
        "ours (bertscore, length-sorted batches of 8, the CPU default)": lambda: (
            ours8.score_batch(rows).scores
        ),
        "ours, batch_size=64": lambda: ours64.score_batch(rows).scores,
        "bert_score, one pair per call (FMEval's way)": lambda: [
            float(scorer.score([p], [t])[2][0]) for p, t in zip(predictions, targets)
        ],
        "bert_score, batches of 64 pairs": lambda: scorer.score(
            predictions, targets, batch_size=64
        )[2].tolist(),
    }
    ours8.score_batch({"predictions": ["warm up"], "targets": ["warm up"]})
    scorer.score(["warm up"], ["warm up"])
    best = {label: math.inf for label in sides}
    values = {}
    for _ in range(repeats):  # interleaved, best of `repeats`: the machine is shared
        for label, run in sides.items():
            start = time.perf_counter()
            values[label] = run()
            best[label] = min(best[label], time.perf_counter() - start)
    ours = values[next(iter(sides))]
    return [
        (label, best[label], max(abs(a - b) for a, b in zip(ours, values[label])))
        for label in sides
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--pairs", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--fmeval-python", default="/tmp/fmeval-venv/bin/python")
    args = parser.parse_args()

    rows = make_rows(args.rows)
    ours_seconds, ours_values = ours_text(rows)
    theirs = fmeval_text(rows, args.fmeval_python)
    print(f"# FMEval algorithms: ours vs FMEval {'1.2.3' if theirs else '(not installed)'}\n")
    print(
        "Command: `.venv/bin/python benchmarks/bench_fmeval.py "
        f"--rows {args.rows} --pairs {args.pairs} --repeats {args.repeats} "
        f"--fmeval-python {args.fmeval_python}`  "
    )
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}\n"
    )
    print(f"## Text scores, {args.rows} rows\n")
    print("| scores | ours rows/s | FMEval rows/s | ratio | rows agreeing |")
    print("|---|---:|---:|---:|---:|")
    agree = agreement(ours_values, theirs) if theirs else {}
    for label, seconds in ours_seconds.items():
        mine = args.rows / seconds
        if theirs:
            other = args.rows / theirs["seconds"][label]
            same, total = agree[label]
            print(
                f"| {label} | {mine:,.0f} | {other:,.0f} | {mine / other:.1f}x | {same}/{total} |"
            )
        else:
            print(f"| {label} | {mine:,.0f} | n/a | n/a | n/a |")
    print(
        f"\n## BERTScore, {args.pairs} pairs of ~40-word texts, roberta-base-sized encoder, CPU\n"
    )
    print("| side | pairs/s | ratio to ours | max abs diff to ours |")
    print("|---|---:|---:|---:|")
    results = bertscore_side_by_side(args.pairs, args.repeats)
    t_ours = results[0][1]
    for label, seconds, diff in results:
        print(f"| {label} | {args.pairs / seconds:.2f} | {t_ours / seconds:.2f}x | {diff:.1e} |")


if __name__ == "__main__":
    main()
