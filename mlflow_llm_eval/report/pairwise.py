"""The pairwise judge's section of the comparison report: ratings, win rates, pairs, consistency.

Takes a :class:`~mlflow_llm_eval.judge.pairwise_result.PairwiseResult` (or None: no section).
"""

from __future__ import annotations

from typing import Any

from mlflow_llm_eval.report.html import esc, fmt, image, num_cell, row, table, text_cell
from mlflow_llm_eval.report.plots import means_png


def _interval(low: Any, high: Any) -> str:
    return f"[{fmt(low)}, {fmt(high)}]"


def pairwise_section(result: Any | None) -> str:
    """HTML of the pairwise judge's results (empty without a result)."""
    if result is None:
        return ""
    p = result.name
    models = result.model_summary()
    rating_rows = []
    for r in models.to_dict(orient="records"):
        m = str(r["model"])
        rating_rows.append(
            row(
                [
                    f"<td>{esc(m)}</td>",
                    num_cell(
                        f"{p}/{m}/bt_rating",
                        r["rating"],
                        note=_interval(r["rating_ci_low"], r["rating_ci_high"]),
                        attrs={"model": m},
                    ),
                    num_cell(
                        f"{p}/{m}/win_rate",
                        r["win_rate"],
                        note=_interval(r["win_rate_ci_low"], r["win_rate_ci_high"]),
                        attrs={"model": m},
                    ),
                    num_cell("wins", r["wins"]),
                    num_cell("ties", r["ties"]),
                    num_cell("losses", r["losses"]),
                ]
            )
        )
    pair_rows = [
        row(
            [
                f"<td>{esc(r['model_a'])}</td>",
                f"<td>{esc(r['model_b'])}</td>",
                num_cell("wins_a", r["wins_a"]),
                num_cell("wins_b", r["wins_b"]),
                num_cell("ties", r["ties"]),
                num_cell("unscored", r["unscored"]),
                num_cell("consistency_rate", r["consistency_rate"]),
            ]
        )
        for r in result.pair_summary().to_dict(orient="records")
    ]
    chart = image(
        means_png(
            models["model"].tolist(),
            models["rating"].tolist(),
            models["rating_ci_low"].tolist(),
            models["rating_ci_high"].tolist(),
            "Bradley-Terry rating (log-strength)",
        ),
        "Bradley-Terry ratings, 95% CI",
    )
    judge = result.judge
    inconsistent = [v for v in result.verdicts if v.consistent is False][:5]
    examples = "".join(
        row(
            [
                num_cell("row", v.row),
                f"<td>{esc(v.model_a)} vs {esc(v.model_b)}</td>",
                text_cell(v.justifications[0]),
                text_cell(v.justifications[1]),
            ]
        )
        for v in inconsistent
    )
    return "".join(
        [
            "<h2>Pairwise judge</h2>",
            f"<p class='small'>Judge <code>{esc(judge.get('judge_model'))}</code>, criteria: "
            f"{esc(judge.get('criteria'))}</p>",
            "<p class='small'>Every pair of answers was judged twice, in both orders; a pair whose "
            "two verdicts disagree counts as a tie. Position-consistency rate "
            f"<b data-key='{esc(p)}/consistency_rate'>{fmt(result.consistency_rate)}</b> "
            f"(share of Answer-A picks among decisive verdicts: {fmt(result.first_position_rate)}; "
            f"ties: {fmt(result.tie_rate)}). Ratings: Bradley–Terry log-strengths (centred; "
            "x 400/ln 10 for the Elo scale), win rate = outright wins / scored comparisons, 95% "
            f"percentile-bootstrap intervals over inputs ({result.ratings.n_bootstrap} resamples, "
            f"seed {result.ratings.seed}).</p>",
            table(["model", "BT rating", "win rate", "wins", "ties", "losses"], rating_rows),
            f"<div class='plots'>{chart}</div>" if chart else "",
            "<h3>Pairs</h3>",
            table(
                ["model A", "model B", "wins A", "wins B", "ties", "unscored", "consistency"],
                pair_rows,
            ),
            (
                "<h3>Inconsistent verdicts (first 5)</h3>"
                + table(
                    ["row", "pair", "justification (A first)", "justification (B first)"],
                    [examples],
                )
            )
            if inconsistent
            else "",
        ]
    )
