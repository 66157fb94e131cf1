"""Prompt stereotyping: FMEval's values on shared rows, a completions endpoint, a local causal LM.

FMEval's reference values (``prompt_stereotyping`` in ``fmeval_reference.json``) were computed by
FMEval 1.2.3 itself (``fmeval/eval_algorithms/prompt_stereotyping.py``: ``PromptStereotyping.
evaluate`` on a ray dataset, with FMEval's ``JsonExtractor`` summing the token log-probs the fake
completions server gives) in a separate environment: ``tests/fmeval/make_reference.py`` (the
command is in its docstring). The same server answers our metric here over HTTP.
"""

from __future__ import annotations

import importlib
import json
import math
from pathlib import Path

import pandas as pd
import pytest
from support.fake_completions import FakeCompletions, sentence_logprob

import mlflow_llm_eval as le

REFERENCE = json.loads(Path(__file__).with_name("fmeval_reference.json").read_text())
STEREO = REFERENCE["prompt_stereotyping"]
ROWS = STEREO["rows"]


@pytest.fixture()
def completions(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    with FakeCompletions() as server:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-stereotyping-key-0000")
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.delenv("OPENAI_API_BASE", raising=False)
        monkeypatch.setenv("MLFLOW_LLM_EVAL_CACHE_DIR", str(tmp_path / "cache"))
        yield server


def _batch(rows):
    return {
        "sent_more": [r["sent_more"] for r in rows],
        "sent_less": [r["sent_less"] for r in rows],
        "bias_type": [r["bias_type"] for r in rows],
    }


def test_reference_was_made_by_fmeval():
    assert REFERENCE["fmeval_version"] == "1.2.3" and STEREO["prompt_template"] == "$model_input"
    assert len(ROWS) >= 12 and any(r["log_probability_difference"] == 0 for r in ROWS)


def test_endpoint_matches_fmeval_on_shared_rows(completions):
    metric = le.prompt_stereotyping(model="openai:/toy")
    result = metric.score_batch(_batch(ROWS))
    assert result.scores == [float(r["prompt_stereotyping"]) for r in ROWS]
    differences = [float(j.split("= ")[1]) for j in result.justifications]
    assert differences == pytest.approx([r["log_probability_difference"] for r in ROWS], abs=1e-5)
    mean = sum(result.scores) / len(result.scores)
    assert mean == pytest.approx(STEREO["dataset_scores"]["prompt_stereotyping"], abs=1e-12)
    for category, scores in STEREO["category_scores"].items():
        key = f"bias_type/{category}/mean"
        assert result.extra_aggregates[key] == pytest.approx(
            scores["prompt_stereotyping"], abs=1e-12
        )
    assert all(b["echo"] is True and b["logprobs"] == 1 for b in completions.requests)
    sent = sorted(b["prompt"] for b in completions.requests)  # concurrent: any order
    assert sent == sorted(t for r in ROWS for t in (r["sent_more"], r["sent_less"]))


def test_endpoint_requests_are_retried_and_cached(completions):
    completions.rate_limit_first = 3
    rows = _batch(ROWS[:4])
    first = le.prompt_stereotyping(model="openai:/toy").score_batch(rows)
    assert completions.statuses.count(429) == 3 and all(s == "ok" for s in first.statuses)
    completions.reset()
    again = le.prompt_stereotyping(model="openai:/toy").score_batch(rows)
    assert completions.requests == [] and again.scores == first.scores


def test_endpoint_without_prompt_logprobs_is_unscored_with_the_reason(completions):
    completions.drop_logprobs = True
    result = le.prompt_stereotyping(model="openai:/toy", cache=False).score_batch(_batch(ROWS[:1]))
    assert math.isnan(result.scores[0]) and result.statuses[0] == "parse_error"
    assert "echo=true with logprobs" in result.reasons[0]


def test_local_causal_lm_sums_token_logprobs_like_hf_loss(tmp_path):
    import torch
    from support.tiny_causal_lm import save_causal_lm
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = save_causal_lm(tmp_path / "lm")
    texts = [
        "Women are bad at math.",
        "A much longer sentence about nothing in particular here.",
        "x",
    ]
    metric = le.prompt_stereotyping(model=str(path), batch_size=2, device="cpu")
    ours = [r.value for r in metric.logprobs(texts)]
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path).eval()
    for text, value in zip(texts, ours):  # HF's own mean loss over the predicted tokens, x count
        ids = torch.tensor(
            [[tokenizer.bos_token_id] + tokenizer(text, add_special_tokens=False)["input_ids"]]
        )
        with torch.inference_mode():
            loss = model(ids, labels=ids).loss.item()
        assert value == pytest.approx(-loss * (ids.shape[1] - 1), rel=1e-5)
    rows = {"sent_more": texts[:2], "sent_less": texts[1:], "bias_type": ["a", "b"]}
    result = metric.score_batch(rows)
    assert result.scores == [float(ours[0] > ours[1]), float(ours[1] > ours[2])]


def test_bad_rows_and_options():
    metric = le.prompt_stereotyping(lambda texts: [-1.0 if "a" in t else 0.5 for t in texts])
    result = metric.score_batch(
        {"sent_more": ["a", None, "a"], "sent_less": ["b", "a", ""], "bias_type": ["g", "g", None]}
    )
    assert result.statuses == ["error", "missing", "empty"]
    assert "log-probability 0.5 > 0" in result.reasons[0] and "sent_more" in result.reasons[1]
    assert "sent_less" in result.reasons[2] and not any(
        k.startswith("bias_type/") for k in result.extra_aggregates
    )
    with pytest.raises(ValueError, match=r"\$model_input"):
        le.prompt_stereotyping(lambda t: t, prompt_template="no placeholder")
    with pytest.raises(ValueError, match="needs a language model"):
        le.prompt_stereotyping()
    assert (
        le.get_metric("prompt_stereotyping", model=lambda t: [-1.0] * len(t)).key
        == "prompt_stereotyping/v1"
    )


def test_prompt_template_is_applied(completions):
    metric = le.prompt_stereotyping(
        model="openai:/toy", prompt_template="Say: $model_input", cache=False
    )
    metric.score_batch({"sent_more": ["a b"], "sent_less": ["c d"]})
    assert sorted(r["prompt"] for r in completions.requests) == ["Say: a b", "Say: c d"]
    assert sentence_logprob("Say: a b") < 0


def test_in_mlflow_evaluate_with_categories(completions, mlflow_store):
    import mlflow

    frame = pd.DataFrame(_batch(ROWS))
    frame["predictions"] = ""  # mlflow.evaluate needs a model or predictions; the metric ignores it
    with mlflow.start_run():
        result = mlflow.evaluate(
            data=frame,
            predictions="predictions",
            model_type=None,
            evaluators="llm_eval",
            extra_metrics=[le.prompt_stereotyping(model="openai:/toy")],
        )
    assert result.metrics["prompt_stereotyping/v1/mean"] == pytest.approx(
        STEREO["dataset_scores"]["prompt_stereotyping"]
    )
    assert result.metrics["prompt_stereotyping/v1/bias_type/gender/mean"] == pytest.approx(
        STEREO["category_scores"]["gender"]["prompt_stereotyping"]
    )
    table = result.tables["eval_results_table"]
    assert table["prompt_stereotyping/v1/score"].tolist() == [
        float(r["prompt_stereotyping"]) for r in ROWS
    ]


@pytest.mark.parametrize(
    "module", ["mlflow_llm_eval.fmeval.prompt_stereotyping", "mlflow_llm_eval.fmeval.logprobs"]
)
def test_docstring_examples(module):
    import doctest

    assert doctest.testmod(importlib.import_module(module)).failed == 0
