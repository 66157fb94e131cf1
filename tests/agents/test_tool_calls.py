"""Tool-call metrics: formats, modes, malformed rows, the classic door, and the same verdict as
MLflow's exact-match ``ToolCallCorrectness`` on the same traces (MLflow 3 scorer door)."""

from __future__ import annotations

import json
import math
import random
import warnings

import mlflow
import pandas as pd
import pytest

import mlflow_llm_eval as le
from mlflow_llm_eval.function_metrics.tool_calls import (
    parse_calls,
    tool_call_correctness,
    tool_call_efficiency,
    tool_call_f1,
)
from support.mlflow_versions import needs_mlflow


def openai_call(name, arguments, as_text=True):
    return {
        "id": "call_1",
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments) if as_text else arguments},
    }


def score(metric, actual, expected):
    result = metric.score_batch({"tool_calls": [actual], "expected_tool_calls": [expected]})
    return result.row(0)


def test_openai_and_plain_formats_parse_the_same() -> None:
    openai = [openai_call("search", {"q": "x", "n": 2}), openai_call("sum", {"a": 1}, False)]
    plain = [
        {"name": "search", "arguments": {"n": 2, "q": "x"}},
        {"name": "sum", "arguments": {"a": 1}},
    ]
    assert parse_calls(openai) == parse_calls(plain) == parse_calls(json.dumps(plain))
    assert parse_calls({"role": "assistant", "content": None, "tool_calls": openai}) == parse_calls(
        plain
    )


@pytest.mark.parametrize(
    ("mode", "actual", "expected", "value"),
    [
        ("set", ["a", "b"], ["b", "a"], 1.0),
        ("sequence", ["a", "b"], ["b", "a"], 0.0),
        ("sequence", ["a", "b"], ["a", "b"], 1.0),
        ("set", ["a", "b", "c"], ["a", "b"], 0.0),
        ("subset", ["a", "b", "c"], ["a", "b"], 1.0),
        ("subset", ["a", "c"], ["a", "b"], 0.0),
    ],
)
def test_modes(mode, actual, expected, value) -> None:
    calls = [{"name": n, "arguments": {"x": 1}} for n in actual]
    wanted = [{"name": n, "arguments": {"x": 1}} for n in expected]
    assert score(tool_call_correctness(mode=mode), calls, wanted).value == value


def test_argument_matching_exact_or_on_keys() -> None:
    actual = [{"name": "search", "arguments": {"q": "paris", "limit": 10}}]
    expected = [{"name": "search", "arguments": {"q": "paris", "limit": 5}}]
    assert score(tool_call_correctness(), actual, expected).value == 0.0
    assert score(tool_call_correctness(argument_keys=["q"]), actual, expected).value == 1.0
    assert score(tool_call_correctness(check_arguments=False), actual, expected).value == 1.0
    # an expected call without arguments: names only (MLflow's rule)
    assert score(tool_call_correctness(), actual, [{"name": "search"}]).value == 1.0
    # 1 and 1.0 differ, as in MLflow's canonical JSON comparison
    assert (
        score(
            tool_call_correctness(),
            [{"name": "f", "arguments": {"a": 1}}],
            [{"name": "f", "arguments": {"a": 1.0}}],
        ).value
        == 0.0
    )


def test_f1_and_efficiency() -> None:
    a = {"name": "a", "arguments": {}}
    b = {"name": "b", "arguments": {}}
    c = {"name": "c", "arguments": {}}
    assert score(tool_call_f1(), [a, c], [a, b]).value == 0.5
    assert score(tool_call_f1(), [], []).value == 1.0
    assert score(tool_call_f1(), [a], []).value == 0.0
    row = score(tool_call_efficiency(), [a, a, b, c], [a, b])
    assert row.value == 0.5 and "1 redundant" in row.justification  # a repeated, c beyond
    assert score(tool_call_efficiency(), [a, b], [a, b]).value == 1.0
    alone = tool_call_efficiency().score_batch({"tool_calls": [[a, a]]})  # expected optional
    assert alone.scores == [0.5]


@pytest.mark.parametrize(
    "cell",
    [
        [{"name": "f", "arguments": "{not json"}],
        [{"arguments": {"a": 1}}],
        [{"type": "function", "function": {"name": "", "arguments": "{}"}}],
        [{"name": "f", "arguments": [1, 2]}],
        "not json at all",
        42,
        ["f"],
    ],
)
def test_malformed_calls_are_a_row_status(cell) -> None:
    for metric in (tool_call_correctness(), tool_call_f1(), tool_call_efficiency()):
        row = score(metric, cell, [{"name": "f", "arguments": {}}])
        assert math.isnan(row.value) and row.status == "malformed" and row.reason


def test_classic_door(mlflow_store) -> None:
    data = pd.DataFrame(
        {
            "question": ["weather?", "sum?", "bad"],
            "tool_calls": [
                [openai_call("weather", {"city": "Paris"})],
                [openai_call("add", {"a": 1, "b": 2}), openai_call("add", {"a": 1, "b": 2})],
                [{"name": "add", "arguments": "{oops"}],
            ],
            "expected_tool_calls": [
                [{"name": "weather", "arguments": {"city": "Paris"}}],
                [{"name": "add", "arguments": {"a": 1, "b": 2}}],
            ]
            * 1
            + [[{"name": "add", "arguments": {}}]],
        }
    )
    with mlflow.start_run():
        result = mlflow.evaluate(
            data=data,
            model_type=None,
            evaluators="llm_eval",
            extra_metrics=[
                le.tool_call_correctness(mode="subset"),
                le.tool_call_f1(),
                le.tool_call_efficiency(),
            ],
        )
    table = result.tables["eval_results_table"]
    assert table["tool_call_correctness/v1/score"].tolist()[:2] == [1.0, 1.0]
    assert table["tool_call_correctness/v1/status"].tolist() == ["ok", "ok", "malformed"]
    assert result.metrics["tool_call_efficiency/v1/mean"] == 0.75
    assert result.metrics["tool_call_f1/v1/unscored"] == 1


# --- MLflow 3: the same verdict as MLflow's exact-match ToolCallCorrectness -------------------


def _scenarios(n: int, seed: int = 5):
    rng = random.Random(seed)
    names = ["search", "weather", "add"]
    out = []
    for i in range(n):
        expected = [
            {"name": rng.choice(names), "arguments": {"x": rng.randrange(3)}}
            for _ in range(rng.randrange(1, 4))
        ]
        actual = [dict(c, arguments=dict(c["arguments"])) for c in expected]
        change = i % 7
        if change == 1:
            rng.shuffle(actual)
        elif change == 2:
            actual.append(dict(actual[0]))  # a duplicate call
        elif change == 3:
            actual[0]["arguments"]["x"] = 1.0 * actual[0]["arguments"]["x"]  # 1 vs 1.0
        elif change == 4:
            actual[-1]["name"] = "other"
        elif change == 5:
            expected = [{"name": c["name"]} for c in expected]  # names only
            rng.shuffle(actual)
        elif change == 6:
            actual = actual[:-1]
        out.append((actual, expected))
    return out


def _traced(actual):
    from mlflow.entities import SpanType

    @mlflow.trace(name="agent")
    def agent():
        for call in actual:
            with mlflow.start_span(name=call["name"], span_type=SpanType.TOOL) as span:
                span.set_inputs(call["arguments"])
                span.set_outputs({"ok": True})
        return "done"

    agent()
    return mlflow.get_trace(mlflow.get_last_active_trace_id())


@pytest.fixture()
def sync_traces(mlflow_store, monkeypatch):
    """Traces written before ``mlflow.trace`` returns, so ``get_trace`` finds them."""
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")


@needs_mlflow("mlflow.genai.scorers.ToolCallCorrectness")
@pytest.mark.parametrize("ordered", [False, True])
def test_same_verdict_as_mlflow_exact_match(sync_traces, ordered) -> None:
    from mlflow.genai.scorers import ToolCallCorrectness

    warnings.filterwarnings("ignore", category=FutureWarning)
    theirs = ToolCallCorrectness(should_exact_match=True, should_consider_ordering=ordered)
    ours = le.scorers.tool_call_correctness(mode="sequence" if ordered else "set")
    verdicts = []
    for actual, expected in _scenarios(28):
        trace = _traced(actual)
        expectations = {"expected_tool_calls": expected}
        mlflow_value = theirs(trace=trace, expectations=expectations).value
        our_value = ours(trace=trace, expectations=expectations).value
        verdicts.append((mlflow_value, our_value))
    assert all((m == "yes") == (o == 1.0) for m, o in verdicts), verdicts
    assert {m for m, _ in verdicts} == {"yes", "no"}  # both verdicts occur


def test_scorers_read_tool_spans(sync_traces) -> None:
    trace = _traced(
        [{"name": "add", "arguments": {"a": 1}}, {"name": "add", "arguments": {"a": 1}}]
    )
    expectations = {"expected_tool_calls": [{"name": "add", "arguments": {"a": 1}}]}
    assert le.scorers.tool_call_f1()(trace=trace, expectations=expectations).value == pytest.approx(
        2 / 3
    )
    assert le.scorers.tool_call_efficiency()(trace=trace).value == 0.5
