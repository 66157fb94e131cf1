"""make_genai_metric and the builtin factories accept what MLflow's accept."""

from __future__ import annotations

import inspect

import pytest
from support.fake_openai import FakeOpenAI

from mlflow_llm_eval.judge import answer_similarity, make_genai_metric

DEFINITION = "Professionalism measures how formal and business-like the output is."
RUBRIC = (
    "Professionalism: Below are the details for different scores:\n"
    "- Score 1: slang or casual language.\n- Score 3: neutral.\n- Score 5: formal."
)


def test_same_parameters_as_mlflow():
    from mlflow.metrics.genai import make_genai_metric as mlflow_make

    theirs = list(inspect.signature(mlflow_make).parameters)
    ours = inspect.signature(make_genai_metric).parameters
    assert list(ours)[: len(theirs)] == theirs
    assert all(
        p.kind is p.KEYWORD_ONLY or p.kind is p.VAR_KEYWORD
        for p in list(ours.values())[len(theirs) :]
    )


@pytest.mark.parametrize(
    "name",
    ["answer_similarity", "answer_correctness", "faithfulness", "answer_relevance", "relevance"],
)
def test_builtin_factories_take_mlflow_arguments(name: str):
    import mlflow.metrics.genai as mlflow_genai

    from mlflow_llm_eval.judge import builtin

    theirs = set(inspect.signature(getattr(mlflow_genai, name)).parameters)
    assert theirs <= set(inspect.signature(getattr(builtin, name)).parameters)


def test_issue_example_with_mlflow_examples(judge_env: FakeOpenAI):
    from mlflow.metrics.genai import EvaluationExample

    example = EvaluationExample(  # as in MLflow's docstring, with its 1-tuple justification
        input="Write a status update.",
        output="Hey folks, stuff is kinda done lol",
        score=1,
        justification=("Casual slang throughout.",),
        grading_context={},
    )
    tone = make_genai_metric(
        name="professionalism",
        definition=DEFINITION,
        grading_prompt=RUBRIC,
        examples=[example],
        version="v2",
        model="openai:/gpt-4o-mini",
        grading_context_columns=[],
        parameters={"temperature": 0.0},
        aggregations=["mean", "variance", "p90"],
        greater_is_better=True,
        max_workers=4,
        metric_metadata={"owner": "qa-team"},
        cache=False,
        progress=False,
    )
    assert tone.key == "professionalism/v2" and tone.requires == ("predictions", "inputs")
    assert tone.aggregations == ("mean", "variance", "p90") and tone.max_concurrency == 4
    assert tone.metadata()["metric_metadata"] == {"owner": "qa-team"}
    assert "Casual slang throughout." in tone.render("x", "y")[0]["content"]
    result = tone.score_batch(
        {
            "predictions": ["Dear team, the release is complete."],
            "inputs": ["Write a status update."],
        }
    )
    assert result.statuses == ["ok"]
    assert judge_env.requests[0].body == {
        "model": "gpt-4o-mini",
        "temperature": 0.0,
        "messages": tone.render("Dear team, the release is complete.", "Write a status update."),
        "response_format": {"type": "json_object"},
    }


def test_string_context_column_and_no_input(judge_env: FakeOpenAI):
    metric = make_genai_metric(
        name="policy_compliance",
        definition="Follows the policy.",
        grading_prompt=RUBRIC,
        examples=[{"output": "ok", "score": 5, "justification": "fine", "grading_context": "p"}],
        model="openai:/m",
        grading_context_columns="policy",
        include_input=False,
    )
    assert metric.requires == ("predictions", "policy")
    assert metric.spec.examples[0].grading_context == {"policy": "p"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"grading_prompt": "Rate it."}, "cannot read the score scale"),
        ({"aggregations": ["mean", "p99"]}, "unknown aggregation"),
        ({"definition": ""}, "definition must be a non-empty string"),
        (
            {
                "examples": [
                    {
                        "output": "x",
                        "score": 3,
                        "justification": "y",
                        "grading_context": {"other": "z"},
                    }
                ]
            },
            "grading context column",
        ),
        ({"scale": (5, 1)}, "low < high"),
        ({"max_workers": 0}, "max_workers must be an integer >= 1, got 0"),
        ({"rpm": -5}, "rpm must be a positive number or None, got -5"),
        ({"max_wrokers": 4}, "did you mean .max_workers."),
        ({"price": {"prompt": 1.0}}, "price must be"),
        ({"timeout": 0}, "timeout must be"),
    ],
)
def test_validated_at_construction(judge_env: FakeOpenAI, kwargs: dict, message: str):
    arguments = {
        "name": "m",
        "definition": DEFINITION,
        "grading_prompt": RUBRIC,
        "model": "openai:/m",
        **kwargs,
    }
    with pytest.raises((ValueError, TypeError), match=message):  # TypeError: unknown keyword
        make_genai_metric(**arguments)


def test_builtin_metric_version_and_examples(judge_env: FakeOpenAI):
    with pytest.raises(ValueError, match="metric_version='v2' is not available"):
        answer_similarity(model="openai:/m", metric_version="v2")
    metric = answer_similarity(
        model="openai:/m",
        metric_version="v1",
        examples=[
            {
                "output": "Paris",
                "score": 5,
                "justification": "same city",
                "input": "Capital of France?",
                "grading_context": {"targets": "Paris"},
            }
        ],
    )
    assert (
        len(metric.spec.examples) == 1
        and "same city" in metric.render("a", "b", {"targets": "c"})[0]["content"]
    )


def test_from_an_mlflow_genai_metric(judge_env: FakeOpenAI):
    import mlflow.metrics.genai as mlflow_genai

    from mlflow_llm_eval.judge import from_mlflow_genai_metric

    theirs = mlflow_genai.answer_similarity(model="openai:/gpt-4o-mini")
    ours = from_mlflow_genai_metric(theirs, cache=False, progress=False)
    assert ours.key == "answer_similarity/v1" and ours.spec.scale == (1, 5)
    assert ours.requires == ("predictions", "targets") and len(ours.spec.examples) == 2
    result = ours.score_batch({"predictions": ["a"], "inputs": ["b"], "targets": ["c"]})
    assert result.statuses == ["ok"] and judge_env.requests[0].body["model"] == "gpt-4o-mini"


def test_wait_bounds_reach_the_engine_and_are_validated(monkeypatch):
    """The Retry-After wait bounds are configuration like the others: passed through, checked early."""
    import pytest

    from mlflow_llm_eval.judge import answer_similarity

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-real")
    metric = answer_similarity(model="openai:/m", wait_budget=1.5, max_wait=20.0, cache=False)
    assert (metric.wait_budget, metric.max_wait) == (1.5, 20.0)
    with pytest.raises(ValueError, match="wait_budget"):
        answer_similarity(model="openai:/m", wait_budget=-1, cache=False)
