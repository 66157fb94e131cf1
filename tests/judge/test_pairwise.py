"""The pairwise judge against the fake OpenAI server: both orders, position bias, BT ratings."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest
from scipy.optimize import minimize
from support.fake_openai import Faults
from support.pairwise_judges import answers, by_quality, prefer_first

import mlflow_llm_eval as le
from mlflow_llm_eval.judge.bradley_terry import PRIOR_GAMES, bradley_terry, rate

JUDGE = "openai:/gpt-4o-mini"


def quality(text: str) -> float:
    """The scripted quality of an answer: the number after 'q='."""
    return float(text.split("q=")[1].split()[0])


def three_models(n: int) -> tuple[dict[str, list[str]], list[str]]:
    """good (q=3) > mid (q=2) > bad (q=1) on every row, except that mid ties bad on row 0."""
    outputs = {
        "good": [f"answer {i} q=3" for i in range(n)],
        "mid": [f"answer {i} q=2 mid" for i in range(n)],
        "bad": [f"answer {i} q={2 if i == 0 else 1} bad" for i in range(n)],
    }
    return outputs, [f"question {i}" for i in range(n)]


def test_fair_judge_orders_three_models(judge_env):
    judge_env.responder = by_quality(quality)
    outputs, inputs = three_models(12)
    result = le.pairwise_preference(model=JUDGE, criteria="correctness").compare(outputs, inputs)
    # 3 pairs x 12 rows, each judged in both orders.
    assert judge_env.stats()["requests"] == 3 * 12 * 2
    assert result.consistency_rate == 1.0
    summary = result.model_summary().set_index("model")
    assert summary.loc["good", "wins"] == 24 and summary.loc["good", "losses"] == 0
    assert summary.loc["bad", "ties"] == 1 and summary.loc["bad", "wins"] == 0
    assert list(summary.index) == ["good", "mid", "bad"]  # sorted by rating
    assert summary.loc["good", "rating_ci_low"] > summary.loc["mid", "rating_ci_high"]
    pairs = result.pair_summary().set_index(["model_a", "model_b"])
    assert pairs.loc[("mid", "bad"), "wins_a"] == 11 and pairs.loc[("mid", "bad"), "ties"] == 1
    metrics = result.metrics()
    assert metrics["pairwise/consistency_rate"] == 1.0
    assert metrics["pairwise/good/win_rate"] == 1.0
    assert metrics["pairwise/good/bt_rating_ci_low"] <= metrics["pairwise/good/bt_rating"]
    assert metrics["pairwise/judge_requests"] == 72


def test_every_pair_is_asked_in_both_orders(judge_env):
    judge_env.responder = by_quality(quality)
    le.pairwise_preference(model=JUDGE, cache=False).compare(
        {"x": ["one q=1"], "y": ["two q=2"]}, ["q"]
    )
    seen = [answers(r.prompt) for r in judge_env.requests]
    assert sorted(seen) == [("one q=1", "two q=2"), ("two q=2", "one q=1")]


def test_position_biased_judge_decides_nothing(judge_env):
    judge_env.responder = prefer_first
    outputs, inputs = three_models(10)
    result = le.pairwise_preference(model=JUDGE).compare(outputs, inputs)
    assert result.consistency_rate == 0.0
    assert result.first_position_rate == 1.0
    assert result.tie_rate == 1.0  # every inconsistent pair is a tie
    assert all(v.winner == "tie" and v.consistent is False for v in result.verdicts)
    summary = result.model_summary()
    assert (summary["wins"] == 0).all() and (summary["win_rate"] == 0).all()
    assert np.allclose(summary["rating"], 0.0, atol=1e-9)
    assert ((summary["rating_ci_low"] <= 0) & (summary["rating_ci_high"] >= 0)).all()
    assert "inconsistent" in result.verdicts[0].reason


def test_identical_answers_tie_without_request_and_bad_cells_are_unscored(judge_env):
    judge_env.responder = by_quality(quality)
    outputs = {
        "a": ["same q=1", None, "x q=3", "p q=1"],
        "b": ["same q=1", "y q=2", {"k": 1}, "r q=2"],
    }
    result = le.pairwise_preference(model=JUDGE).compare(outputs, ["i0", "i1", "i2", "i3"])
    frame = result.frame()
    assert judge_env.stats()["requests"] == 2  # only row 3 reaches the judge
    assert frame.loc[0, "winner"] == "tie" and not frame.loc[0, "judged"]
    assert frame.loc[1, "status"] == "missing" and "outputs of a" in frame.loc[1, "reason"]
    assert frame.loc[2, "status"] == "not_text" and "outputs of b" in frame.loc[2, "reason"]
    assert frame.loc[3, "winner"] == "b"
    assert result.metrics()["pairwise/pairs_unscored"] == 2
    assert result.consistency_rate == 1.0  # the identical pair is not a judge decision


def test_cache_serves_the_second_run(judge_env):
    judge_env.responder = by_quality(quality)
    outputs, inputs = three_models(4)
    first = le.pairwise_preference(model=JUDGE).compare(outputs, inputs)
    judge_env.reset()
    second = le.pairwise_preference(model=JUDGE).compare(outputs, inputs)
    assert judge_env.stats()["requests"] == 0
    assert second.accounting["judge_cache_hits"] == 24
    assert second.frame()["winner"].tolist() == first.frame()["winner"].tolist()


def test_rate_limits_are_retried_and_no_pair_is_lost(judge_env):
    judge_env.responder = by_quality(quality)
    judge_env.reset(Faults(rate_limit=0.2, retry_after=0.01, seed=3))
    outputs, inputs = three_models(10)
    result = le.pairwise_preference(model=JUDGE, cache=False).compare(outputs, inputs)
    assert judge_env.stats()["statuses"].get(429, 0) > 0
    assert len(result.scored) == 30 and result.consistency_rate == 1.0


def test_unusable_answers_are_unscored_with_the_reason(judge_env):
    judge_env.responder = lambda prompt: json.dumps({"score": 1.5, "justification": "between"})
    result = le.pairwise_preference(model=JUDGE, cache=False).compare(
        {"a": ["x"], "b": ["y"]}, ["q"]
    )
    verdict = result.verdicts[0]
    assert verdict.winner is None and verdict.status == "parse_error"
    assert "score 1.5 is not 1" in verdict.reason
    assert (
        math.isnan(result.consistency_rate) and "pairwise/consistency_rate" not in result.metrics()
    )


def test_without_input_and_validation(judge_env):
    judge_env.responder = by_quality(quality)
    judge = le.pairwise_preference(model=JUDGE, include_input=False, cache=False)
    judge.compare({"a": ["x q=1"], "b": ["y q=2"]})
    assert "<input-" not in judge_env.requests[0].body["messages"][1]["content"]
    with pytest.raises(ValueError, match="at least two models"):
        judge.compare({"a": ["x"]})
    with pytest.raises(ValueError, match="one answer per row"):
        judge.compare({"a": ["x"], "b": ["y", "z"]})
    with pytest.raises(ValueError, match="needs inputs"):
        le.pairwise_preference(model=JUDGE).compare({"a": ["x"], "b": ["y"]})
    with pytest.raises(ValueError, match="criteria"):
        le.pairwise_preference(model=JUDGE, criteria=" ")
    with pytest.raises(ValueError, match="judge model"):
        le.pairwise_preference(criteria="c")


def test_json_is_complete_and_holds_no_secret(judge_env):
    judge_env.responder = by_quality(quality)
    outputs, inputs = three_models(3)
    secret = os.environ["OPENAI_API_KEY"]  # the fixture's key that must never be logged
    result = le.pairwise_preference(model=JUDGE, extra_headers={"X-Key": secret}).compare(
        outputs, inputs
    )
    text = json.dumps(result.to_json())
    assert secret not in text and secret not in result.summary()
    data = json.loads(text)
    assert len(data["pairs"]) == 9 and data["judge"]["extra_header_names"] == ["X-Key"]
    assert "percentile bootstrap" in data["ratings_method"]["interval"]


# -- Bradley-Terry ---------------------------------------------------------------------------
def _nll(theta: np.ndarray, wins: np.ndarray) -> float:
    k = len(theta)
    w = wins + PRIOR_GAMES / 2 * (1 - np.eye(k))
    diff = theta[:, None] - theta[None, :]
    return float(np.sum(w * np.logaddexp(0, -diff) * (1 - np.eye(k))))


def test_bradley_terry_is_the_maximum_likelihood_fit():
    wins = np.array([[0, 7, 9, 4], [3, 0, 6, 5], [1, 4, 0, 2], [6, 5, 8, 0]], dtype=float)
    ours = bradley_terry(wins)
    reference = minimize(_nll, np.zeros(4), args=(wins,), method="BFGS", tol=1e-12).x
    assert ours == pytest.approx(reference - reference.mean(), abs=1e-5)
    assert ours.sum() == pytest.approx(0, abs=1e-12)


def test_two_models_closed_form_and_zero_wins_stay_finite():
    theta = bradley_terry(np.array([[0, 10], [0, 0]]))
    assert theta[0] - theta[1] == pytest.approx(math.log(10.5 / 0.5))


def test_bootstrap_is_seeded():
    rng = np.random.default_rng(0)
    row_games = np.ones((40, 2, 2)) - np.eye(2)
    row_wins = np.zeros_like(row_games)
    first = rng.random(40) < 0.7
    row_wins[first, 0, 1] = 1
    row_wins[~first, 1, 0] = 1
    a = rate(("a", "b"), row_wins, row_games, seed=1)
    b = rate(("a", "b"), row_wins, row_games, seed=1)
    c = rate(("a", "b"), row_wins, row_games, seed=2)
    assert np.array_equal(a.low, b.low) and not np.array_equal(a.low, c.low)
    assert a.low[0] < a.theta[0] < a.high[0]


@pytest.mark.parametrize(
    "module",
    [
        "mlflow_llm_eval.judge.pairwise_result",
        "mlflow_llm_eval.judge.bradley_terry",
        "mlflow_llm_eval.judge.cached_run",
    ],
)
def test_docstring_examples(module):
    import doctest
    import importlib

    assert doctest.testmod(importlib.import_module(module)).failed == 0
