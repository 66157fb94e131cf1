"""Speed of our rouge1/rouge2/rougeL/rougeLsum against rouge_score's RougeScorer, same rows.

Run: ``.venv/bin/python benchmarks/bench_rouge.py [--rows 600] [--repeat 3]``. Prints a markdown
table: rows/s of ``RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"]).score(target,
prediction)`` and of our four metrics (four separate Metric objects scoring the whole batch, as
the evaluator runs them; caches cleared before each run, so tokenisation is counted), their
ratio, and whether all F-measures are identical.

Texts are synthetic English-like (~100 words, fixed seed): a Zipf-like vocabulary of common
English words plus invented ones; the prediction is the target with ~30% of the words replaced,
dropped or inserted and sentence order sometimes swapped. Layouts: all on one line (rougeLsum
then equals rougeL) and one sentence per line (rougeLsum does its summary-level work).

MLflow's own path (``mlflow.metrics.rouge1()`` ...) calls Hugging Face ``evaluate.load("rouge")``,
which fetches the metric script from the Hub: it cannot run offline, so it is not timed here; it
runs rouge_score's RougeScorer once per ROUGE type, i.e. slower than the reference row below.
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import time
from collections.abc import Callable

COMMON = (
    "the of and to a in is that it was for on are with as be by at this have from or had not but "
    "what all were when we there can an your which their said if do will each about how up out "
    "them then she many some so these would other into has more her two like him see time could "
    "no make than first been its who now people my made over did down only way find use may water "
    "long little very after words called just where most know get through back much before go good "
    "new write our used me man too any day same right look think also around another came come work "
    "three word must because does part even place well such here take why things help put years "
    "different away again off went old number great tell men say small every found still between "
    "name should home big give air line set own under read last never us left end along while might "
    "next sound below saw something thought both few those always looked show large often together "
    "asked house don world going want school important until form food keep children feet land side "
    "without boy once animals life enough took sometimes four head above kind began almost live page "
    "got earth need far hand high year mother light parts country father let night following picture "
    "being study second eyes soon times story boys since white days ever paper hard near sentence "
    "better best across during today others however sure means knew try told young miles sun ways "
    "thing whole hear example heard several change answer room sea against top turned learn point "
    "city play toward five using himself usually money seen car morning given reported increased "
    "running companies markets analysts announced quarterly revenue growth percent million billion"
).split()


def synthetic_rows(n: int, seed: int, one_per_line: bool) -> list[tuple[str, str]]:
    """(prediction, target) pairs of ~100-word English-like texts, deterministic."""
    rng = random.Random(seed)
    invented = [
        "".join(rng.choice("abcdefghiklmnoprstuvwy") for _ in range(rng.randint(3, 10)))
        for _ in range(4000)
    ]

    vocabulary = COMMON + invented
    # Zipf-Mandelbrot ranks, as in English text ("the" ~ 6% of words)
    cum_weights = list(itertools.accumulate(1 / (rank + 2.7) for rank in range(len(vocabulary))))

    def word() -> str:
        return rng.choices(vocabulary, cum_weights=cum_weights)[0]

    def sentence(words: list[str]) -> str:
        text = " ".join(words)
        return text[:1].upper() + text[1:] + rng.choice([".", ".", ".", "!", "?", ", 12.5%."])

    rows = []
    for _ in range(n):
        target_sents: list[list[str]] = []
        while sum(map(len, target_sents)) < 100:
            target_sents.append([word() for _ in range(rng.randint(6, 28))])
        pred_sents = []
        for words in target_sents:
            out: list[str] = []
            for w in words:
                r = rng.random()
                if r < 0.12:
                    out.append(word())
                elif r < 0.2:
                    continue
                else:
                    out.append(w)
                if rng.random() < 0.08:
                    out.append(word())
            pred_sents.append(out or [word()])
        if rng.random() < 0.3 and len(pred_sents) > 1:
            i = rng.randrange(len(pred_sents) - 1)
            pred_sents[i], pred_sents[i + 1] = pred_sents[i + 1], pred_sents[i]
        sep = "\n" if one_per_line else " "
        rows.append((sep.join(map(sentence, pred_sents)), sep.join(map(sentence, target_sents))))
    return rows


def best_seconds(runs: list[Callable[[], object]], repeat: int) -> list[tuple[float, object]]:
    """Best wall time of each run over ``repeat`` rounds, the runs interleaved in each round
    (so a busy spell on a shared machine slows both sides alike), with the last output."""
    best: list[tuple[float, object]] = [(float("inf"), None)] * len(runs)
    for _ in range(repeat):
        for i, run in enumerate(runs):
            started = time.perf_counter()
            out = run()
            best[i] = (min(best[i][0], time.perf_counter() - started), out)
    return best


def compare(rows: list[tuple[str, str]], repeat: int, use_stemmer: bool) -> dict[str, object]:
    from rouge_score import rouge_scorer

    from mlflow_llm_eval.function_metrics import rouge

    types = list(rouge.ROUGE_TYPES)
    scorer = rouge_scorer.RougeScorer(types, use_stemmer=use_stemmer)
    metrics = [rouge.METRICS[t](use_stemmer=use_stemmer) for t in types]
    batch = {"predictions": [p for p, _ in rows], "targets": [t for _, t in rows]}

    def reference() -> dict[str, list[float]]:
        scores = [scorer.score(t, p) for p, t in rows]
        return {k: [s[k].fmeasure for s in scores] for k in types}

    def ours() -> dict[str, list[float]]:
        rouge._tokenized.cache_clear()
        rouge._porter.cache_clear()
        return {m.name: m.score_batch(batch).scores for m in metrics}

    (ref_s, ref), (our_s, got) = best_seconds([reference, ours], repeat)
    assert isinstance(ref, dict) and isinstance(got, dict)
    n_values = len(rows) * len(types)
    equal = sum(a == b for k in types for a, b in zip(ref[k], got[k]))
    max_diff = max(abs(a - b) for k in types for a, b in zip(ref[k], got[k]))
    return {
        "ref": len(rows) / ref_s,
        "ours": len(rows) / our_s,
        "equal": equal,
        "n_values": n_values,
        "max_diff": max_diff,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=600)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    cases = [
        ("one line, ~100 words", False, False),
        ("one sentence per line, ~100 words", True, False),
        ("one sentence per line, use_stemmer=True", True, True),
    ]
    print(
        f"rows per case: {args.rows}; best of {args.repeat} runs; Python {sys.version.split()[0]}\n"
    )
    print(
        "| texts | rouge_score rows/s | ours rows/s | ratio | identical F-measures | max abs diff |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for label, one_per_line, stem in cases:
        rows = synthetic_rows(args.rows, seed=20240611, one_per_line=one_per_line)
        r = compare(rows, args.repeat, stem)
        print(
            f"| {label} | {r['ref']:.0f} | {r['ours']:.0f} | {r['ours'] / r['ref']:.1f}x "  # type: ignore[operator]
            f"| {r['equal']}/{r['n_values']} | {r['max_diff']:.1e} |"
        )
    print("\nBoth sides compute all four types (rouge1, rouge2, rougeL, rougeLsum) for every row.")
    print(
        "MLflow's builtin rouge metrics load HF evaluate's script from the Hub: not runnable offline."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
