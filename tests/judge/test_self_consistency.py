"""Self-consistency: ``samples=n`` at a temperature > 0 judges each row n times (fake server)."""

from __future__ import annotations

import itertools
import statistics
import threading

import pytest

import mlflow_llm_eval as le


def test_each_row_is_judged_n_times_and_its_spread_is_reported(judge_env, rows) -> None:
    counter, lock = itertools.count(), threading.Lock()

    def scorer(prompt: str) -> int:  # answers cycle 3, 4, 5, ... whatever the row
        with lock:
            return 3 + next(counter) % 3

    judge_env.scorer = scorer
    metric = le.answer_similarity(model="openai:/judge", parameters={"temperature": 0.7}, samples=3)
    result = metric.score_batch(rows(4))
    assert judge_env.stats()["requests"] == 12
    assert result.extra_aggregates["judge_requests"] == 12
    for value, justification in zip(result.scores, result.justifications):
        samples = [float(v) for v in justification.split("samples: ")[1].split(";")[0].split(", ")]
        assert len(samples) == 3 and value == pytest.approx(statistics.fmean(samples))
        assert f"sd {statistics.stdev(samples):.3g}" in justification
    assert result.extra_aggregates["self_consistency_agreement"] < 1
    assert result.extra_aggregates["self_consistency_sd"] > 0
    again = metric.score_batch(rows(4))  # every sample is its own cache entry
    assert judge_env.stats()["requests"] == 12 and again.scores == result.scores
    assert metric.metadata()["samples"] == 3


def test_a_deterministic_judge_agrees_with_itself(judge_env, rows) -> None:
    judge_env.scorer = lambda prompt: 4
    metric = le.answer_similarity(
        model="openai:/judge", parameters={"temperature": 1.0}, samples=2, cache=False
    )
    result = metric.score_batch(rows(3))
    assert result.scores == [4.0] * 3
    assert result.extra_aggregates["self_consistency_agreement"] == 1.0
    assert result.extra_aggregates["self_consistency_sd"] == 0.0


@pytest.mark.parametrize(
    "samples,parameters,message",
    [
        (3, {"temperature": 0.0}, "temperature"),
        (0, {"temperature": 1.0}, "integer >= 1"),
        (2, {}, "temperature"),
    ],
)
def test_samples_need_a_temperature_above_zero(judge_env, samples, parameters, message) -> None:
    with pytest.raises(ValueError, match=message):
        le.answer_similarity(model="openai:/judge", parameters=parameters, samples=samples)
