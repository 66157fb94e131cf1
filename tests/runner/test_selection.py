"""The selection rule: objective, constraints, ties (tie-breakers, tolerance, model order), failures."""

from __future__ import annotations

import math

import pytest

from mlflow_llm_eval.select import Candidate, Constraint, Objective, select_winner

Q, LAT = "quality/v1/mean", "latency/v1/p90"


def cands(*rows: tuple[str, float | None, float | None]) -> list[Candidate]:
    out = []
    for name, quality, latency in rows:
        metrics = {k: v for k, v in ((Q, quality), (LAT, latency)) if v is not None}
        out.append(Candidate(name, metrics))
    return out


def test_maximize_and_minimize_pick_the_extremes() -> None:
    models = cands(("a", 0.5, 3.0), ("b", 0.9, 1.0), ("c", 0.7, 0.5))
    assert select_winner(models, Objective(Q, "maximize")).winner == "b"
    low = select_winner(models, Objective(LAT, "minimize"))
    assert low.winner == "c" and low.ranking == ["c", "b", "a"]
    assert "minimized" in low.reason


def test_constraints_exclude_models_and_say_why() -> None:
    models = cands(("a", 0.9, 2.5), ("b", 0.8, 1.9), ("c", 0.95, None))
    s = select_winner(models, Objective(Q), [Constraint.parse("latency/v1/p90 < 2.0")])
    assert s.winner == "b"
    assert s.rejected == {
        "a": "latency/v1/p90 = 2.5 does not satisfy < 2",
        "c": "latency/v1/p90 was not logged (or is NaN), so 'latency/v1/p90 < 2' cannot hold",
    }
    assert s.ranking == ["b"]


@pytest.mark.parametrize(
    "text,value,holds",
    [
        ("x/v1/mean >= 0.5", 0.5, True),
        ("x/v1/mean > 0.5", 0.5, False),
        ("x/v1/p90 <= 1e-3", 0.001, True),
        ("x/v1/mean == 1", 1.0, True),
        ("x/v1/mean != 1", 1.0, False),
        ("x/v1/mean < -1", -2.0, True),
        ("x/v1/mean < 2", math.nan, False),
    ],
)
def test_constraint_operators(text: str, value: float, holds: bool) -> None:
    assert Constraint.parse(text).holds(value) is holds


@pytest.mark.parametrize(
    "text", ["latency < ", "< 2", "latency/v1/p90 << 2", "latency/v1/p90 < two"]
)
def test_malformed_constraints_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="cannot read the constraint"):
        Constraint.parse(text)


def test_a_tie_is_broken_by_the_next_objective_then_by_model_order() -> None:
    models = [
        Candidate("a", {Q: 0.8, "r/v1/mean": 0.1}),
        Candidate("b", {Q: 0.8, "r/v1/mean": 0.3}),
        Candidate("c", {Q: 0.7, "r/v1/mean": 0.9}),
    ]
    s = select_winner(models, Objective(Q), tie_breakers=[Objective("r/v1/mean")])
    assert (s.winner, s.tie_broken_by) == ("b", "r/v1/mean")
    assert "tie broken by r/v1/mean" in s.reason
    exact = [Candidate("a", {Q: 0.8}), Candidate("b", {Q: 0.8})]
    s = select_winner(exact, Objective(Q), tie_breakers=[Objective("r/v1/mean")])
    assert (s.winner, s.tie_broken_by) == ("a", "model order")
    reversed_order = select_winner(exact[::-1], Objective(Q))
    assert reversed_order.winner == "b"  # the first declared wins, whichever it is


def test_tolerance_makes_close_values_a_tie() -> None:
    models = [Candidate("a", {Q: 0.80, LAT: 1.5}), Candidate("b", {Q: 0.81, LAT: 0.5})]
    strict = select_winner(models, Objective(Q), tie_breakers=[Objective(LAT, "minimize")])
    loose = select_winner(
        models, Objective(Q), tie_breakers=[Objective(LAT, "minimize")], tolerance=0.02
    )
    assert (strict.winner, strict.tie_broken_by) == ("b", None)
    assert (loose.winner, loose.tie_broken_by) == ("b", LAT)
    models[1] = Candidate("b", {Q: 0.81, LAT: 2.5})
    assert (
        select_winner(
            models, Objective(Q), tie_breakers=[Objective(LAT, "minimize")], tolerance=0.02
        ).winner
        == "a"
    )


def test_a_missing_tie_breaker_value_ranks_last() -> None:
    models = [Candidate("a", {Q: 0.8}), Candidate("b", {Q: 0.8, LAT: 9.0})]
    assert (
        select_winner(models, Objective(Q), tie_breakers=[Objective(LAT, "minimize")]).winner == "b"
    )


def test_failed_models_and_nan_objectives_are_not_eligible() -> None:
    models = [
        Candidate("a", {Q: 0.99}, failure="ConnectionError: refused"),
        Candidate("b", {Q: math.nan}),
        Candidate("c", {Q: 0.1}),
    ]
    s = select_winner(models, Objective(Q))
    assert s.winner == "c"
    assert s.rejected["a"] == "evaluation failed: ConnectionError: refused"
    assert s.rejected["b"] == "quality/v1/mean was not logged (or is NaN)"


def test_all_failed_means_no_winner_with_a_reason() -> None:
    models = [Candidate("a", {}, failure="boom"), Candidate("b", {}, failure="bang")]
    s = select_winner(models, Objective(Q))
    assert s.winner is None and s.ranking == []
    assert s.reason == "no winner: all 2 model evaluations failed"


def test_no_eligible_model_lists_every_reason() -> None:
    models = cands(("a", 0.9, 3.0), ("b", 0.8, 2.5))
    s = select_winner(models, Objective(Q), [Constraint.parse("latency/v1/p90 < 2")])
    assert s.winner is None
    assert s.reason == (
        "no winner: no model is eligible (a: latency/v1/p90 = 3 does not satisfy < 2; "
        "b: latency/v1/p90 = 2.5 does not satisfy < 2)"
    )
    assert select_winner([], Objective(Q)).reason == "no winner: there were no models to compare"


# --- require_significance: paired tests on the rows both models scored ---------------------------


def _binary(ones: int, n: int = 40) -> list[float]:
    return [1.0] * ones + [0.0] * (n - ones)


def test_a_significant_winner_keeps_its_place_and_the_reason_gives_the_p_value() -> None:
    models = [
        Candidate("a", {Q: 0.2}, scores=_binary(8)),
        Candidate("b", {Q: 0.9}, scores=_binary(36)),
        Candidate("c", {Q: 0.1}, scores=_binary(4)),
    ]
    s = select_winner(models, Objective(Q), require_significance=0.05, value_kind="binary")
    assert s.winner == "b" and s.tie_broken_by is None
    assert "significantly better than the runner-up a" in s.reason and "Holm-adjusted" in s.reason
    by_model = {c.model: c for c in s.comparisons}
    assert set(by_model) == {"a", "c"} and by_model["a"].result.mean_diff == pytest.approx(0.7)
    assert by_model["a"].p_holm < 0.05 and by_model["a"].result.ci_low > 0


def test_an_insignificant_lead_goes_to_the_tie_breakers_and_the_reason_says_so() -> None:
    # b leads a by 1 row of 40: no paired test can call that; the tie-breaker r prefers a.
    a, b = _binary(20), _binary(21)
    models = [
        Candidate("a", {Q: 0.5, "r/v1/mean": 0.9}, scores=a),
        Candidate("b", {Q: 0.525, "r/v1/mean": 0.1}, scores=b),
    ]
    plain = select_winner(models, Objective(Q), tie_breakers=[Objective("r/v1/mean")])
    assert plain.winner == "b"
    s = select_winner(
        models,
        Objective(Q),
        tie_breakers=[Objective("r/v1/mean")],
        require_significance=0.05,
        value_kind="binary",
    )
    assert (s.winner, s.tie_broken_by) == ("a", "r/v1/mean")
    assert "not significantly better than a" in s.reason and "tie-breakers decided" in s.reason
    without_breakers = select_winner(
        models, Objective(Q), require_significance=0.05, value_kind="binary"
    )
    assert (without_breakers.winner, without_breakers.tie_broken_by) == ("a", "model order")


def test_require_significance_needs_scores_and_a_valid_level() -> None:
    models = [Candidate("a", {Q: 0.5}), Candidate("b", {Q: 0.6})]
    with pytest.raises(ValueError, match="per-row scores"):
        select_winner(models, Objective(Q), require_significance=0.05)
    with pytest.raises(ValueError, match="require_significance"):
        select_winner(models, Objective(Q), require_significance=1.5)


def test_paired_differences_match_scipy_and_holm_matches_its_definition() -> None:
    import numpy as np
    from scipy import stats

    from mlflow_llm_eval.core.paired import holm, paired_difference

    rng = np.random.default_rng(4)
    a = rng.integers(1, 6, 25).astype(float)
    b = np.clip(a - rng.integers(0, 3, 25), 1, 5)
    result = paired_difference(a, b, "ordinal", (1, 5))
    d = a - b
    reference = stats.permutation_test(
        (d[d != 0], np.zeros((d != 0).sum())),
        lambda x, y, axis: np.mean(x - y, axis=axis),
        permutation_type="samples",
        vectorized=True,
        n_resamples=9999,
        rng=np.random.default_rng(0),
    )
    assert result.mean_diff == pytest.approx(d.mean()) and result.p_value == pytest.approx(
        reference.pvalue
    )
    assert result.ci_low <= d.mean() <= result.ci_high
    p = [0.01, 0.04, 0.03, 0.5]
    assert holm(p) == pytest.approx([4 * 0.01, 3 * 0.03, 3 * 0.03, 0.5])  # step-down, monotone
    nan_rows = paired_difference([1.0, float("nan"), 0.0], [0.0, 1.0, float("nan")], "binary")
    assert nan_rows.n == 1
