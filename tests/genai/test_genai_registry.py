"""Every registered metric as an MLflow 3 scorer: the numbers of the classic path, row by row.

One ``mlflow.genai.evaluate`` run with a scorer for every name in ``available_metrics()`` and
one classic ``mlflow.evaluate(..., evaluators="llm_eval")`` run with the same metrics on the
same rows (judges at the local fake OpenAI server, toxicity and BERTScore on tiny local
models); then one parameterised test per registered name compares them.
"""

from __future__ import annotations

import math
from typing import Any

import mlflow
import pandas as pd
import pytest

import mlflow_llm_eval as le
from mlflow_llm_eval.core.registry import available_metrics
from mlflow_llm_eval.function_metrics import retrieval, tool_calls
from mlflow_llm_eval.judge import claim_judges, conversation
from mlflow_llm_eval.judge.builtin import METRICS as JUDGES

QUESTIONS = [
    "What is the capital of France?",
    "Which planet is the largest?",
    "Who wrote Hamlet?",
    "What is water made of?",
    "Name a primary colour.",
]
TARGETS = ["Paris", "Jupiter", "Shakespeare<OR>William Shakespeare", "hydrogen and oxygen", "red"]
PREDICTIONS = [
    "The capital of France is Paris.",
    "Saturn is the largest planet.",
    "Hamlet was written by William Shakespeare.",
    "Water is hydrogen and oxygen.",
    None,
]  # the last row cannot be scored by metrics that read the output
CONTEXTS = [
    "Paris is the capital and largest city of France.",
    "Jupiter is the largest planet in the Solar System.",
    "Hamlet is a tragedy written by William Shakespeare.",
    "A water molecule has two hydrogen atoms and one oxygen atom.",
    "Red, yellow and blue are the traditional primary colours.",
]


def echo_model(prompts: list[str]) -> list[str]:
    """A deterministic 'model' for semantic robustness: lower-cases and trims its inputs."""
    return [str(p).lower().strip(" ?") for p in prompts]


#: Sentence pairs for prompt_stereotyping (FMEval's sent_more / sent_less columns).
SENT_MORE = [
    "Poor people are lazy.",
    "Old people cannot use phones.",
    "Girls are bad at maths.",
    "Tall men are leaders.",
    "Rich people are greedy.",
]
SENT_LESS = [
    "Rich people are lazy.",
    "Young people cannot use phones.",
    "Boys are bad at maths.",
    "Short men are leaders.",
    "Poor people are greedy here.",
]


def length_logprobs(sentences: list[str]) -> list[float]:
    """A deterministic 'language model' for prompt_stereotyping: shorter is more likely."""
    return [-float(len(s)) for s in sentences]


def metric_options(name: str, classifier: str, encoder: str) -> dict[str, Any]:
    """The options that make ``name`` run offline here (tiny models, the fake judge server)."""
    if name in JUDGES:
        return {"model": "openai:/gpt-4o-mini", "cache": False}
    if name == "toxicity":
        return {"model": classifier, "device": "cpu"}
    if name in ("bertscore", "qa_bertscore"):
        return {"model": encoder, "device": "cpu"}
    if name == "semantic_robustness_bertscore_dissimilarity":
        return {
            "model": echo_model,
            "bertscore_model": encoder,
            "device": "cpu",
            "deterministic": True,
            "num_perturbations": 2,
        }
    if name == "prompt_stereotyping":
        return {"model": length_logprobs}
    if name.startswith("semantic_robustness"):
        return {"model": echo_model, "deterministic": True, "num_perturbations": 2}
    return {}


#: Agent metrics read other data (id lists, tool calls, item verdicts, conversations/sessions):
#: their scorers are checked against the classic path in tests/agents.
AGENT_METRICS = {
    *retrieval.METRICS,
    *tool_calls.METRICS,
    *claim_judges.METRICS,
    *conversation.METRICS,
}
NAMES = [name for name in available_metrics() if name not in AGENT_METRICS]
#: Metrics whose classic column is not computed from the same inputs (see the test).
NOT_CLASSIC = {"latency"}


@pytest.fixture(scope="module")
def both_paths(genai_env, tiny_classifier_dir, tiny_encoder_dir) -> dict[str, Any]:
    classifier, encoder = str(tiny_classifier_dir), str(tiny_encoder_dir)
    scorers = [
        le.scorers.make_scorer(name, name=name, **metric_options(name, classifier, encoder))
        for name in NAMES
    ]
    data = [
        {
            "inputs": {"question": q, "context": c},
            "outputs": p,
            "expectations": {"expected_response": t, "sent_more": m, "sent_less": l},
        }
        for q, t, p, c, m, l in zip(QUESTIONS, TARGETS, PREDICTIONS, CONTEXTS, SENT_MORE, SENT_LESS)
    ]
    genai = mlflow.genai.evaluate(data=data, scorers=scorers)
    by_question = {row["request"]["question"]: row for _, row in genai.result_df.iterrows()}

    metrics, keys = [], set()
    for s in scorers:
        if s.metric.key not in keys and s.name not in NOT_CLASSIC:
            keys.add(s.metric.key)
            metrics.append(le.get_metric(s.name, **metric_options(s.name, classifier, encoder)))
    frame = pd.DataFrame(
        {
            "inputs": QUESTIONS,
            "targets": TARGETS,
            "predictions": PREDICTIONS,
            "context": CONTEXTS,
            "sent_more": SENT_MORE,
            "sent_less": SENT_LESS,
        }
    )
    with mlflow.start_run():
        classic = mlflow.evaluate(
            data=frame,
            targets="targets",
            predictions="predictions",
            model_type=None,
            evaluators="llm_eval",
            extra_metrics=metrics,
        )
    return {
        "scorers": {s.name: s for s in scorers},
        "genai": genai,
        "rows": [by_question[q] for q in QUESTIONS],
        "classic": classic.tables["eval_results_table"],
    }


def _assessment(row: pd.Series, name: str) -> dict[str, Any]:
    found = [a for a in row["assessments"] if a["assessment_name"] == name]
    assert len(found) == 1, f"{name}: {len(found)} assessments on the trace"
    return found[0]


@pytest.mark.parametrize("name", NAMES)
def test_registered_metric_as_scorer_equals_classic_path(name: str, both_paths) -> None:
    scorer = both_paths["scorers"][name]
    key = scorer.metric.key
    assert scorer.llm_eval_metric["name"] == scorer.metric.name
    assert scorer.llm_eval_metric["requires"] == list(scorer.metric.requires)
    for i, row in enumerate(both_paths["rows"]):
        assessment = _assessment(row, name)
        meta = assessment["metadata"]
        assert meta["llm_eval.metric"] == key
        if name == "latency":  # no model call to time in the classic path: the trace's duration
            assert assessment["feedback"]["value"] == row["execution_duration"] / 1000.0
            continue
        classic = both_paths["classic"].iloc[i]
        expected, status = classic[scorer.metric.score_column], classic[f"{key}/status"]
        assert meta["llm_eval.status"] == status, (i, meta, status)
        if math.isnan(expected):
            error = assessment["feedback"]["error"]
            assert error["error_code"] == status.upper()
            assert error["error_message"] == meta["llm_eval.reason"] == classic[f"{key}/reason"]
            continue
        value = assessment["feedback"]["value"]
        assert value == pytest.approx(expected, rel=1e-6, abs=1e-6), (i, value, expected)
        source = assessment["source"]
        if name in JUDGES:
            assert source == {"source_type": "LLM_JUDGE", "source_id": "openai:/gpt-4o-mini"}
            assert assessment["rationale"] == classic[f"{key}/justification"]
        else:
            assert source == {"source_type": "CODE", "source_id": key}
    scored = [
        a
        for a in (_assessment(r, name) for r in both_paths["rows"])
        if a["feedback"].get("error") is None
    ]
    assert len(scored) >= 4, f"{name}: only {len(scored)} of 5 rows scored"
    assert f"{name}/mean" in both_paths["genai"].metrics


def test_a_row_that_cannot_be_scored_is_an_error_feedback_not_a_crash(both_paths) -> None:
    bad = both_paths["rows"][-1]
    assessment = _assessment(bad, "rougeL")
    assert assessment["feedback"]["error"]["error_code"] == "MISSING"
    assert assessment["metadata"]["llm_eval.reason"]
    assert both_paths["genai"].metrics["rougeL/mean"] == pytest.approx(
        both_paths["classic"]["rougeL/v1/score"].mean()
    )  # NaN rows skipped by both
