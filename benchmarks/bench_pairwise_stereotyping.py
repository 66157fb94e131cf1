"""Pairwise judge and prompt stereotyping: ours vs what users would otherwise run, one run.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_pairwise_stereotyping.py \
        > benchmarks/results/pairwise_stereotyping.md

1. Sentence log-probabilities (prompt stereotyping's cost): ours (length-sorted, right-padded
   batches of 16) vs one forward pass per sentence with ``model(ids, labels=ids).loss`` (what
   FMEval's Hugging Face ``ModelRunner`` example does per prompt), on a GPT-2 with random
   weights (4 layers, hidden 256: no weights can be downloaded here; speed does not depend on
   the values) and the tests' byte-level BPE tokenizer; CPU.
2. Bradley-Terry ratings with 1000 bootstrap resamples: ours (MM in numpy, all resamples fitted
   at once) vs scikit-learn ``LogisticRegression`` refitted per resample (the Chatbot Arena
   notebook's ``compute_mle_elo`` way); point estimates compared without the prior.
3. The pairwise judge end to end against the local fake OpenAI server (50 ms per answer): ours
   (both orders, engine concurrency) vs a plain loop of ``openai`` chat calls, one at a time
   (what a notebook user writes), same requests.

Each side runs ``--repeats`` times, interleaved; the best time is kept. The machine has 2 cores
shared with other work (other engineers' test runs): absolute figures are noisy, ratios less so.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
WORDS = (
    "the a people old young man woman could not learn to use phone are always bad at math "
    "nurse doctor poor rich kind lazy teacher children city"
).split()


def best(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def logprob_section(sentences: int, repeats: int) -> list[str]:
    import torch
    from support.tiny_models import build_tokenizer
    from transformers import AutoModelForCausalLM, GPT2Config

    from mlflow_llm_eval.fmeval.logprobs import as_logprob_model

    rng = random.Random(0)
    texts = [
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 30))).capitalize() + "."
        for _ in range(sentences)
    ]
    folder = Path(tempfile.mkdtemp()) / "lm"
    tokenizer = build_tokenizer(max_length=512)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=512,
        n_embd=256,
        n_layer=4,
        n_head=4,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    ours = as_logprob_model(str(folder), device="cpu", batch_size=16)
    ours(texts[:2])  # load once, outside the timing
    model = AutoModelForCausalLM.from_pretrained(folder).eval()

    def per_sentence():
        values = []
        for text in texts:
            ids = torch.tensor(
                [[tokenizer.bos_token_id] + tokenizer(text, add_special_tokens=False)["input_ids"]]
            )
            with torch.inference_mode():
                values.append(-model(ids, labels=ids).loss.item() * (ids.shape[1] - 1))
        return values

    t_ours, a = best(lambda: [r.value for r in ours(texts)], repeats)
    t_ref, b = best(per_sentence, repeats)
    diff = max(abs(x - y) for x, y in zip(a, b))
    return [
        f"## Sentence log-probs, {sentences} sentences of 6-30 words, GPT-2 4x256 (random), CPU",
        "",
        "| side | sentences/s | ratio to per-sentence | max abs diff |",
        "|---|---:|---:|---:|",
        f"| ours (batches of 16, length-sorted) | {sentences / t_ours:,.1f} | "
        f"{t_ref / t_ours:.2f}x | {diff:.1e} |",
        f"| one forward per sentence (FMEval HF runner example) | {sentences / t_ref:,.1f} | "
        "1.00x | 0 |",
        "",
    ]


def bt_section(models: int, rows: int, resamples: int, repeats: int) -> list[str]:
    from sklearn.linear_model import LogisticRegression

    from mlflow_llm_eval.judge.bradley_terry import bradley_terry, rate

    rng = np.random.default_rng(0)
    strength = np.linspace(-1, 1, models)
    row_wins = np.zeros((rows, models, models))
    row_games = np.zeros_like(row_wins)
    for r in range(rows):
        for i in range(models):
            for j in range(i + 1, models):
                row_games[r, i, j] = row_games[r, j, i] = 1
                p = 1 / (1 + np.exp(-(strength[i] - strength[j])))
                u = rng.random()
                if u < p * 0.85:
                    row_wins[r, i, j] = 1
                elif u > 1 - (1 - p) * 0.85:
                    row_wins[r, j, i] = 1
    names = tuple(f"m{i}" for i in range(models))

    def sklearn_fit(weights_rows: np.ndarray) -> np.ndarray:
        wins = np.tensordot(weights_rows, row_wins, axes=1)
        games = np.tensordot(weights_rows, row_games, axes=1)
        ties = games - wins - wins.T
        w = wins + ties / 2
        X, y, sw = [], [], []
        for i in range(models):
            for j in range(models):
                if i != j and w[i, j] > 0:
                    x = np.zeros(models)
                    x[i], x[j] = 1, -1
                    X.append(x), y.append(1), sw.append(w[i, j])
                    X.append(-x), y.append(0), sw.append(w[i, j])
        lr = LogisticRegression(fit_intercept=False, C=np.inf, tol=1e-8, max_iter=1000)
        lr.fit(np.array(X), np.array(y), sample_weight=np.array(sw))
        coef = lr.coef_[0]
        return coef - coef.mean()

    counts = np.random.default_rng(1).multinomial(rows, np.full(rows, 1 / rows), size=resamples)

    def sklearn_side():
        boot = np.array([sklearn_fit(c.astype(float)) for c in counts])
        return np.quantile(boot, [0.025, 0.975], axis=0)

    t_ours, _ = best(lambda: rate(names, row_wins, row_games, n_bootstrap=resamples), repeats)
    t_ref, _ = best(sklearn_side, repeats)
    ties = row_games - row_wins - np.swapaxes(row_wins, 1, 2)
    ours_point = bradley_terry((row_wins + ties / 2).sum(axis=0), prior=0.0)
    ref_point = sklearn_fit(np.ones(rows))
    return [
        f"## Bradley-Terry, {models} models x {rows} rows, {resamples} bootstrap resamples",
        "",
        "| side | seconds | ratio to sklearn | max abs diff of ratings (no prior) |",
        "|---|---:|---:|---:|",
        f"| ours (MM, numpy, resamples batched) | {t_ours:.3f} | {t_ref / t_ours:.1f}x | "
        f"{np.max(np.abs(ours_point - ref_point)):.1e} |",
        f"| scikit-learn LogisticRegression per resample (Arena) | {t_ref:.3f} | 1.0x | 0 |",
        "",
    ]


def judge_section(rows: int, latency: float, repeats: int) -> list[str]:
    import openai
    from support.fake_openai import FakeOpenAI
    from support.pairwise_judges import by_quality

    import mlflow_llm_eval as le

    outputs = {f"m{q}": [f"answer {i} q={q}" for i in range(rows)] for q in (1, 2, 3)}
    inputs = [f"question {i}" for i in range(rows)]
    with FakeOpenAI(
        responder=by_quality(lambda t: float(t.split("q=")[1])), latency=latency
    ) as server:
        os.environ.update(
            OPENAI_API_KEY="sk-bench-0000000000000000", OPENAI_BASE_URL=server.base_url
        )
        judge = le.pairwise_preference(model="openai:/bench", cache=False, n_bootstrap=1000)
        requests = [
            r
            for a, b in [("m1", "m2"), ("m1", "m3"), ("m2", "m3")]
            for i in range(rows)
            for r in (
                judge.render(outputs[a][i], outputs[b][i], inputs[i]),
                judge.render(outputs[b][i], outputs[a][i], inputs[i]),
            )
        ]
        client = openai.OpenAI(base_url=server.base_url, api_key="sk-bench", max_retries=0)

        def loop():
            return [
                client.chat.completions.create(model="bench", messages=m, temperature=0)
                .choices[0]
                .message.content
                for m in requests
            ]

        cpu0 = time.process_time()
        t_ours, result = best(lambda: judge.compare(outputs, inputs), repeats)
        cpu_ours = (time.process_time() - cpu0) / repeats
        cpu0 = time.process_time()
        t_loop, _ = best(loop, repeats)
        cpu_loop = (time.process_time() - cpu0) / repeats
    n = len(requests)
    return [
        f"## Pairwise judge, 3 models x {rows} rows = {n} requests, {latency * 1000:.0f} ms "
        "server latency",
        "",
        "| side | requests/s | ratio | client CPU ms/request |",
        "|---|---:|---:|---:|",
        f"| ours (`compare`: both orders, engine, BT + 1000 resamples) | {n / t_ours:,.1f} | "
        f"{t_loop / t_ours:.1f}x | {cpu_ours / n * 1000:.2f} |",
        f"| a loop of openai chat calls, one at a time | {n / t_loop:,.1f} | 1.0x | "
        f"{cpu_loop / n * 1000:.2f} |",
        "",
        f"Consistency rate of the scripted fair judge: {result.consistency_rate}.",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sentences", type=int, default=200)
    parser.add_argument("--models", type=int, default=6)
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--judge-rows", type=int, default=40)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    lines = [
        "# Pairwise judge and prompt stereotyping",
        "",
        "Command: `PYTHONPATH=. .venv/bin/python benchmarks/bench_pairwise_stereotyping.py "
        + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items())
        + "`  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared with other work), "
        f"Python {platform.python_version()}",
        "",
    ]
    lines += logprob_section(args.sentences, args.repeats)
    lines += bt_section(args.models, args.rows, args.resamples, args.repeats)
    lines += judge_section(args.judge_rows, args.latency, args.repeats)
    print("\n".join(lines))
    json.dumps(vars(args))


if __name__ == "__main__":
    main()
