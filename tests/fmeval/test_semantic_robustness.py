"""Semantic robustness: perturbations, WER by hand, determinism, model kinds, caching, bad rows."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from mlflow_llm_eval.fmeval.models import NO_MODEL, as_text_model
from mlflow_llm_eval.fmeval.perturbations import Perturbation
from mlflow_llm_eval.fmeval.semantic_robustness import (
    PerturbedRuns,
    semantic_robustness_delta,
    semantic_robustness_wer,
    word_error_rate,
    words,
)


class Counting:
    """A deterministic model that records every prompt it is called with."""

    def __init__(self, fn=lambda p: p.lower()):
        self.fn, self.prompts = fn, []

    def __call__(self, prompts):
        self.prompts.extend(prompts)
        return [self.fn(p) for p in prompts]


def test_word_error_rate_by_hand():
    assert word_error_rate(["a b c"], ["a b c"]) == 0.0
    assert word_error_rate(["a x c"], ["a b c"]) == pytest.approx(1 / 3)  # 1 substitution
    assert word_error_rate(["a b c d"], ["a b c"]) == pytest.approx(1 / 3)  # 1 insertion
    assert word_error_rate([""], ["a b"]) == 1.0  # 2 deletions
    # pooled, not averaged: (1 + 0) / (3 + 1)
    assert word_error_rate(["a x c", "z"], ["a b c", "z"]) == pytest.approx(1 / 4)
    assert words(" a  b\tc\nd ") == ["a", "b\tc\nd"]  # jiwer: collapse runs, split on " "
    with pytest.raises(ValueError, match="empty"):
        word_error_rate(["a"], ["   "])


def test_perturbation_parameters_and_validation():
    text = "The quick brown fox"
    assert (
        Perturbation("butter_finger", parameters={"perturbation_prob": 0.0}).perturb(text)
        == [text] * 5
    )
    upper = Perturbation("random_upper_case", parameters={"uppercase_fraction": 1.0}).perturb(text)
    assert upper == [text.upper()] * 5
    spaces = Perturbation("whitespace_add_remove", parameters={"add_prob": 0.0, "remove_prob": 1.0})
    assert spaces.perturb(text) == ["Thequickbrownfox"] * 5
    assert Perturbation("butter_finger", seed=1).perturb(text) != Perturbation(
        "butter_finger"
    ).perturb(text)
    for bad in (
        {"kind": "emoji"},
        {"num_perturbations": 0},
        {"parameters": {"perturbation_prob": 2.0}},
        {"parameters": {"add_prob": 0.1}},
    ):
        with pytest.raises(ValueError):
            Perturbation(**bad)


def test_deterministic_model_wer_by_hand():
    # upper-casing every character: a case-insensitive model does not change -> WER 0;
    # a case-sensitive echo changes every word whose letters were changed
    options = dict(
        perturbation_type="random_upper_case",
        random_uppercase_corrupt_proportion=1.0,
        num_perturbations=2,
    )
    assert semantic_robustness_wer(lambda ps: [p.lower() for p in ps], **options).score_batch(
        {"inputs": ["ab cd"]}
    ).scores == [0.0]
    assert semantic_robustness_wer(lambda ps: list(ps), **options).score_batch(
        {"inputs": ["ab cd 12"]}
    ).scores == [pytest.approx(2 / 3)]


def test_original_output_from_predictions_and_call_order():
    model = Counting()
    metric = semantic_robustness_wer(
        model, num_perturbations=2, deterministic=True, butter_finger_perturbation_prob=0.0
    )
    result = metric.score_batch({"inputs": ["Hello World"], "predictions": ["hello there world"]})
    assert model.prompts == ["Hello World"] * 2  # only perturbed inputs: the original is the data's
    # the model says "hello world" to the unchanged input: 1 deletion of 3 words, twice
    assert result.scores == [pytest.approx(1 / 3)]


def test_non_determinism_is_detected_and_baselined():
    calls = {}

    def flaky(prompts):
        out = []
        for p in prompts:
            calls[p] = calls.get(p, 0) + 1
            out.append("same answer" if calls[p] % 2 else "other answer")
        return out

    metric = semantic_robustness_wer(
        flaky,
        perturbation_type="butter_finger",
        butter_finger_perturbation_prob=0.0,
        num_perturbations=3,
    )
    result = metric.score_batch({"inputs": ["question one"]})
    assert metric.runs.deterministic is False
    assert "baseline" in result.justifications[0]
    assert result.scores[0] == 0.0  # max(0, WER - baseline WER) with baseline >= WER here
    assert sum(calls.values()) == 1 + 1 + 3 + 3  # original, check, perturbed, 3 baseline


def test_shared_runs_call_the_model_once_per_perturbed_input():
    model = Counting()
    runs = PerturbedRuns(model, num_perturbations=3, deterministic=True)
    wer, delta = semantic_robustness_wer(runs), semantic_robustness_delta(runs, "qa_f1")
    rows = {
        "inputs": ["What is the capital of France?", "Name a colour"],
        "targets": ["what is the capital of france?", "blue"],
    }
    assert delta.requires == ("inputs", "targets")
    wer.score_batch(rows)
    n = len(model.prompts)
    delta_result = delta.score_batch(rows)
    assert len(model.prompts) == n == 2 + 2 * 3  # originals + perturbed, nothing re-run
    assert delta.key == "semantic_robustness_delta_qa_f1/v1"
    assert delta_result.scores[1] == 0.0  # qa_f1 of 'name a colour' vs 'blue' is 0 either way
    with pytest.raises(ValueError, match="belong to the PerturbedRuns"):
        semantic_robustness_wer(runs, num_perturbations=2)


def test_delta_by_hand():
    # perturbed inputs all become "" -> model answers "" -> qa_exact_match drops from 1 to 0
    metric = semantic_robustness_delta(
        lambda ps: [p.strip() for p in ps],
        "qa_exact_match",
        perturbation_type="whitespace_add_remove",
        whitespace_remove_prob=0.0,
        whitespace_add_prob=1.0,
        num_perturbations=2,
        deterministic=True,
    )
    result = metric.score_batch({"inputs": ["ab"], "targets": ["ab"]})
    assert result.scores == [1.0]  # |1 - 0| for both perturbations ("a b " != "ab")
    assert "original 1" in result.justifications[0]


def test_bad_rows_and_model_outputs():
    def model(prompts):
        return [None if "none" in p else ("" if "empty" in p else p) for p in prompts]

    metric = semantic_robustness_wer(model, deterministic=True, num_perturbations=2)
    result = metric.score_batch({"inputs": [None, "", "give none", "give empty", 5, "fine text"]})
    assert result.statuses[:5] == ["missing", "empty", "missing", "empty", "not_text"]
    assert all(math.isnan(s) for s in result.scores[:5]) and all(result.reasons[:5])
    assert "original output" in result.reasons[2]
    assert result.statuses[5] == "ok"


def test_a_model_is_required_and_kinds_are_checked():
    with pytest.raises(ValueError, match="static frame"):
        semantic_robustness_wer()
    with pytest.raises(ValueError, match="static frame"):
        as_text_model(None)
    assert "needs the model under evaluation" in NO_MODEL
    with pytest.raises(ValueError, match="endpoint URI"):
        semantic_robustness_wer("my-model")
    with pytest.raises(TypeError):
        semantic_robustness_wer(42)
    with pytest.raises(ValueError, match="prompt_template"):
        semantic_robustness_wer(str.upper, prompt_template="no placeholder")
    with pytest.raises(ValueError, match="num_baseline_samples"):
        semantic_robustness_wer(str.upper, num_baseline_samples=1)
    with pytest.raises(ValueError, match="scores predictions"):
        semantic_robustness_delta(str.upper, "latency")


def test_model_output_count_mismatch_is_an_error():
    run = as_text_model(lambda ps: ["x"])
    with pytest.raises(ValueError, match="1 outputs for 2 prompts"):
        run(["a", "b"])


def test_pyfunc_style_model_and_prompt_template():
    class PredictModel:
        def __init__(self):
            self.frames = []

        def predict(self, frame):
            self.frames.append(frame)
            return pd.Series([q.lower() for q in frame["question"]])

    model = PredictModel()
    metric = semantic_robustness_wer(
        model,
        input_column="question",
        deterministic=True,
        prompt_template="Q: $model_input",
        num_perturbations=2,
    )
    result = metric.score_batch({"inputs": ["Hi There"]})
    assert result.statuses == ["ok"]
    assert list(model.frames[0].columns) == ["question"]
    assert model.frames[0]["question"][0] == "Q: Hi There"


def test_endpoint_model_uses_the_judge_client(monkeypatch):
    from mlflow_llm_eval.judge import endpoints

    class FakeClient:
        def __init__(self):
            self.messages = []

        def complete(self, messages, parameters):
            self.messages.append((messages, parameters))
            return endpoints.Completion(text=messages[0]["content"].upper())

    client = FakeClient()
    monkeypatch.setattr(endpoints, "make_client", lambda model, timeout: client)
    run = as_text_model("openai:/gpt-4o-mini")
    assert run(["hi", "yo"]) == ["HI", "YO"]
    assert ([{"role": "user", "content": "hi"}], {"temperature": 0.0}) in client.messages


def _f1(scorer, pairs):
    return scorer.score_pairs(pairs)[0]


def test_bertscore_dissimilarity_deterministic(tiny_encoder_dir):
    from mlflow_llm_eval.fmeval.semantic_robustness import (
        semantic_robustness_bertscore_dissimilarity,
    )

    echo = Counting(lambda p: " ".join(w[::-1] for w in p.split()))
    metric = semantic_robustness_bertscore_dissimilarity(
        echo, bertscore_model=str(tiny_encoder_dir), deterministic=True, num_perturbations=3
    )
    text = "The quick brown fox jumps over the lazy dog"
    result = metric.score_batch({"inputs": [text]})
    run = metric.runs.runs([text], None)[0]
    f1 = _f1(metric.scorer, [(p, run.original) for p in run.perturbed_outputs])
    assert result.scores[0] == pytest.approx(1 - sum(f1) / 3, abs=1e-9)
    assert 0 < result.scores[0] < 1
    assert (
        metric.key == "semantic_robustness_bertscore_dissimilarity/v1"
        and not metric.greater_is_better
    )


def test_bertscore_dissimilarity_baseline_as_fmeval_builds_it(tiny_encoder_dir):
    from mlflow_llm_eval.fmeval.semantic_robustness import (
        semantic_robustness_bertscore_dissimilarity,
    )

    calls = {}

    def flaky(prompts):
        out = []
        for p in prompts:
            calls[p] = calls.get(p, 0) + 1
            out.append(p.lower() + (" again and again" if calls[p] % 2 == 0 else ""))
        return out

    metric = semantic_robustness_bertscore_dissimilarity(
        flaky, bertscore_model=str(tiny_encoder_dir), num_perturbations=2, num_baseline_samples=3
    )
    result = metric.score_batch({"inputs": ["Paris is the capital of France"]})
    run = metric.runs.runs(["Paris is the capital of France"], None)[0]
    assert metric.runs.deterministic is False and len(run.baseline_outputs) == 2
    # FMEval: pairs of (b0, b1, original); each pair's second output vs ALL first outputs, best
    b0, b1, o = run.baseline_outputs[0], run.baseline_outputs[1], run.original
    firsts, seconds = [b0, b0, b1], [b1, o, o]
    base = 1 - sum(max(_f1(metric.scorer, [(s, f) for f in firsts])) for s in seconds) / 3
    d = 1 - sum(_f1(metric.scorer, [(p, o) for p in run.perturbed_outputs])) / 2
    assert result.scores[0] == pytest.approx(max(0.0, d - base), abs=1e-9)
    assert "baseline" in result.justifications[0]


def test_bertscore_dissimilarity_default_model_offline(monkeypatch):
    from mlflow_llm_eval.fmeval.semantic_robustness import (
        semantic_robustness_bertscore_dissimilarity,
    )

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    metric = semantic_robustness_bertscore_dissimilarity(
        lambda ps: list(ps), deterministic=True, num_perturbations=1
    )
    result = metric.score_batch({"inputs": ["hello", None]})
    assert result.statuses == ["unavailable", "missing"]
    assert "deberta-xlarge-mnli" in result.reasons[0]
