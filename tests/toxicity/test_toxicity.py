"""toxicity on tiny local models: pipeline parity, batching, bad rows, one-pass aggregates, loading."""

from __future__ import annotations

import logging
import math
import random
import subprocess
import sys

import pandas as pd
import pytest
import torch

from mlflow_llm_eval.core.engine import score_frame
from mlflow_llm_eval.hf import HOW_TO_PROVIDE, ModelUnavailableError, load_model
from mlflow_llm_eval.function_metrics.toxicity import DEFAULT_MODEL, Toxicity, classify, toxicity

TEXTS = [
    "I hate you, you are awful and stupid.",
    "What a wonderful day in Paris!",
    "The quick brown fox jumps over the lazy dog. " * 3,
    "ok",
    "Numbers 0 1 2 3 and punctuation !?",
    "😀🔥 emoji only 🙈",
    "Привет, как дела? 你好，世界。 مرحبا بالعالم",
    "You are a wonderful person and I like you.",
    "Berlin is in Germany",
]


def _pipeline_scores(model_dir, texts, label):
    import transformers

    pipe = transformers.pipeline(
        "text-classification", model=str(model_dir), top_k=None, device="cpu"
    )
    return [
        next(d["score"] for d in out if d["label"] == label) for out in pipe(texts, truncation=True)
    ]


@pytest.mark.parametrize(
    ("fixture", "label"),
    [
        ("tiny_classifier_dir", "hate"),
        ("tiny_multilabel_dir", "toxic"),
        ("tiny_multilabel_dir", "insult"),
    ],
)
def test_scores_equal_the_transformers_pipeline(request, fixture, label):
    model_dir = request.getfixturevalue(fixture)
    metric = toxicity(model=str(model_dir), device="cpu", batch_size=4, toxic_label=label)
    result = metric.score_batch({"predictions": TEXTS})
    expected = _pipeline_scores(model_dir, TEXTS, label)
    assert set(result.statuses) == {"ok", "truncated"}  # the non-Latin line exceeds 64 tokens
    assert max(abs(a - b) for a, b in zip(result.scores, expected)) <= 1e-5
    assert len(set(round(s, 6) for s in result.scores)) > 3  # scores really vary per text


def test_multilabel_default_label_uses_sigmoid(tiny_multilabel_dir):
    metric = toxicity(model=str(tiny_multilabel_dir), device="cpu")  # finds "toxic"
    loaded = load_model(str(tiny_multilabel_dir), device="cpu")
    assert loaded.config.problem_type == "multi_label_classification"
    scores = metric.score_batch({"predictions": TEXTS[:3]}).scores
    batch = loaded.tokenizer(TEXTS[:3], padding=True, truncation=True, return_tensors="pt")
    with torch.inference_mode():
        logits = loaded.model(**batch).logits
    torch.testing.assert_close(torch.tensor(scores), logits.sigmoid()[:, 0], atol=1e-5, rtol=0)
    assert not torch.allclose(torch.tensor(scores), logits.softmax(-1)[:, 0], atol=1e-3)


def test_batched_equals_one_by_one_and_order_survives_sorting(tiny_classifier_dir):
    rng = random.Random(11)
    texts = [" ".join(rng.choice(TEXTS).split()[: rng.randint(1, 12)]) + f" {i}" for i in range(40)]
    batched = toxicity(model=str(tiny_classifier_dir), device="cpu", batch_size=7)
    single = toxicity(model=str(tiny_classifier_dir), device="cpu", batch_size=1)
    scores = batched.score_batch({"predictions": texts}).scores
    one_by_one = [single.score_batch({"predictions": [t]}).scores[0] for t in texts]
    assert max(abs(a - b) for a, b in zip(scores, one_by_one)) <= 1e-5
    order = list(range(40))
    rng.shuffle(order)
    shuffled = batched.score_batch({"predictions": [texts[i] for i in order]}).scores
    assert shuffled == pytest.approx([scores[i] for i in order], abs=1e-5)


class OutOfMemoryAbove(torch.nn.Module):
    """Wraps a model; raises CUDA out-of-memory on batches larger than ``limit`` rows."""

    def __init__(self, model, limit):
        super().__init__()
        self.inner, self.limit, self.sizes = model, limit, []
        self.config = model.config

    def forward(self, **inputs):
        rows = inputs["input_ids"].shape[0]
        self.sizes.append(rows)
        if rows > self.limit:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 8.00 GiB")
        return self.inner(**inputs)


def test_out_of_memory_back_off_keeps_scores(tiny_classifier_dir):
    from dataclasses import replace

    loaded = load_model(str(tiny_classifier_dir), device="cpu")
    flaky = replace(loaded, model=OutOfMemoryAbove(loaded.model, limit=3))
    texts = TEXTS * 3
    backed_off = classify(texts, flaky, label_index=1, batch_size=16)
    reference = classify(texts, loaded, label_index=1, batch_size=16)
    assert [s for s, _ in backed_off] == pytest.approx([s for s, _ in reference], abs=1e-5)
    assert flaky.model.sizes[:3] == [16, 8, 4] and max(flaky.model.sizes[3:]) <= 2


def test_bad_rows_get_nan_and_a_status(tiny_classifier_dir):
    megabyte = "toxic words here " * 62_500  # 1 MB
    rows = [None, math.nan, 42, {"a": 1}, ["x"], "", "   ", megabyte, "😀🙈", "你好，世界", "fine"]
    result = toxicity(model=str(tiny_classifier_dir), device="cpu").score_batch(
        {"predictions": rows}
    )
    assert result.statuses == [
        "missing",
        "missing",
        "not_text",
        "not_text",
        "not_text",
        "empty",
        "empty",
        "truncated",
        "ok",
        "ok",
        "ok",
    ]
    assert all(math.isnan(s) for s in result.scores[:7])
    assert all(0.0 <= s <= 1.0 for s in result.scores[7:])
    assert "64 tokens" in result.reasons[7]
    # the truncated row scores exactly its first 64 tokens (what the pipeline scores too)
    assert result.scores[7] == pytest.approx(
        _pipeline_scores(tiny_classifier_dir, [megabyte[:5000]], "hate")[0], abs=1e-5
    )


def test_one_pass_gives_mean_variance_p90_and_ratio(tiny_classifier_dir):
    metric = toxicity(model=str(tiny_classifier_dir), device="cpu", threshold=0.55)
    frame = pd.DataFrame({"predictions": TEXTS + [None]})
    scored = score_frame(frame, [metric])
    scores = [s for s in scored.table["toxicity/v1/score"] if not math.isnan(s)]
    expected_ratio = sum(s >= 0.55 for s in scores) / len(scores)
    assert 0.0 < expected_ratio < 1.0  # the threshold splits this data
    aggregates = scored.aggregates
    assert aggregates["toxicity/v1/ratio"] == pytest.approx(expected_ratio)
    assert aggregates["toxicity/v1/mean"] == pytest.approx(sum(scores) / len(scores))
    assert {"toxicity/v1/variance", "toxicity/v1/p90"} <= set(aggregates)
    assert aggregates["toxicity/v1/count"] == len(TEXTS)


def test_default_model_offline_leaves_rows_unscored_and_warns_once(monkeypatch, caplog):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    metric = toxicity()  # nothing is loaded yet: construction cannot fail offline
    assert metric.model_source == DEFAULT_MODEL and metric.toxic_label == "hate"
    with caplog.at_level(logging.WARNING, logger="mlflow_llm_eval.function_metrics.toxicity"):
        first = metric.score_batch({"predictions": ["a", "b"]})
        second = metric.score_batch({"predictions": ["c"]})
    assert first.statuses == ["unavailable"] * 2 and second.statuses == ["unavailable"]
    assert DEFAULT_MODEL in first.reasons[0] and HOW_TO_PROVIDE in first.reasons[0]
    assert math.isnan(first.extra_aggregates["ratio"])
    assert len([r for r in caplog.records if "toxicity is unavailable" in r.message]) == 1


def test_missing_torch_gives_unavailable_rows_with_the_install_hint(
    monkeypatch, tiny_classifier_dir
):
    monkeypatch.setitem(sys.modules, "torch", None)  # find_spec("torch") -> None, import fails
    metric = toxicity(model=str(tiny_classifier_dir))
    result = metric.score_batch({"predictions": ["hello"]})
    assert result.statuses == ["unavailable"]
    assert "pip install 'mlflow-llm-eval[toxicity]'" in result.reasons[0]


def test_a_named_model_fails_at_construction(tiny_classifier_dir):
    with pytest.raises(ModelUnavailableError, match="no such directory"):
        toxicity(model="/no/such/model/dir")
    with pytest.raises(ValueError, match="toxic_label='insult' is not among.*hate"):
        toxicity(model=str(tiny_classifier_dir), toxic_label="insult")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"device": "gpu"}, "device must be"),
        ({"precision": "fp8"}, "precision must be"),
        ({"batch_size": 0}, "batch_size"),
        ({"threshold": 1.5}, "threshold"),
        ({"threshold": "high"}, "threshold"),
        ({"quantize": "int4"}, "quantize must be"),
        ({"quantize": "int8", "device": "cuda"}, "int8.*CPU"),
        ({"toxic_label": ""}, "toxic_label"),
    ],
)
def test_bad_options_fail_early(options, message):
    with pytest.raises(ValueError, match=message):
        toxicity(**options)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_asking_for_absent_cuda_fails_at_construction():
    with pytest.raises(ValueError, match="CUDA is not available"):
        toxicity(device="cuda:0")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_half_precision_matches_cpu(tiny_classifier_dir):
    gpu = toxicity(model=str(tiny_classifier_dir), device="cuda:0")
    cpu = toxicity(model=str(tiny_classifier_dir), device="cpu")
    loaded = load_model(str(tiny_classifier_dir), device="cuda:0")
    assert loaded.dtype in (torch.float16, torch.bfloat16)
    gpu_scores = gpu.score_batch({"predictions": TEXTS}).scores
    cpu_scores = cpu.score_batch({"predictions": TEXTS}).scores
    assert max(abs(a - b) for a, b in zip(gpu_scores, cpu_scores)) <= 2e-2


def test_int8_mode_scores_close_to_fp32(tiny_classifier_dir):
    fp32 = toxicity(model=str(tiny_classifier_dir), device="cpu").score_batch(
        {"predictions": TEXTS}
    )
    int8 = toxicity(model=str(tiny_classifier_dir), quantize="int8").score_batch(
        {"predictions": TEXTS}
    )
    deviation = max(abs(a - b) for a, b in zip(fp32.scores, int8.scores))
    assert 0.0 < deviation < 0.05


def test_load_from_an_mlflow_run(mlflow_store, tmp_path, tiny_classifier_dir):
    import mlflow

    experiment = mlflow.create_experiment(
        f"tox-{tmp_path.name}", artifact_location=tmp_path.as_uri()
    )
    with mlflow.start_run(experiment_id=experiment) as run:
        mlflow.log_artifacts(str(tiny_classifier_dir), "tox_model")
    by_uri = toxicity(model=f"runs:/{run.info.run_id}/tox_model", toxic_label="hate")
    local = toxicity(model=str(tiny_classifier_dir), toxic_label="hate")
    assert by_uri.score_batch({"predictions": TEXTS}).scores == pytest.approx(
        local.score_batch({"predictions": TEXTS}).scores, abs=1e-6
    )


def test_registered_by_name_and_in_presets():
    from mlflow_llm_eval.core.registry import PRESETS, get_metric

    assert isinstance(get_metric("toxicity", threshold=0.3), Toxicity)
    assert all(
        "toxicity" in PRESETS[p] for p in ("question-answering", "text-summarization", "text")
    )
    assert isinstance(get_metric("toxicity"), Toxicity)


def test_import_does_not_load_torch_or_transformers():
    code = (
        "import sys; from mlflow_llm_eval.function_metrics.toxicity import toxicity; toxicity(); "
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
