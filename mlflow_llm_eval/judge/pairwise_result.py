"""What a pairwise comparison returns: per-pair verdicts, win/tie counts, consistency, ratings.

>>> v = PairVerdict(0, "small", "large")
>>> v.decide(Reading(1, "A is right"), Reading(3, "B is right"))  # small wins both orders
>>> v.winner, v.consistent
('small', True)
>>> v = PairVerdict(1, "small", "large")
>>> v.decide(Reading(1, "A"), Reading(1, "A"))  # always the first answer: inconsistent
>>> v.winner, v.consistent
('tie', False)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pandas as pd

from mlflow_llm_eval.judge.bradley_terry import Ratings

TIE = "tie"


class Reading(NamedTuple):
    """One order's verdict: 1 (Answer A better), 2 (equal), 3 (Answer B better) or None."""

    score: int | None
    justification: str | None = None
    status: str = "ok"
    reason: str | None = None


@dataclass
class PairVerdict:
    """The two answers of ``model_a`` and ``model_b`` on one row, judged in both orders.

    ``first``: ``model_a`` shown as Answer A; ``second``: ``model_b`` shown as Answer A. Each
    order's choice is mapped back to a model name (or ``"tie"``). ``winner`` is the agreed
    choice, ``"tie"`` when the orders disagree, ``None`` when the pair could not be scored
    (``status``/``reason`` say why).
    """

    row: int
    model_a: str
    model_b: str
    first: str | None = None
    second: str | None = None
    winner: str | None = None
    consistent: bool | None = None
    judged: bool = True
    status: str = "ok"
    reason: str | None = None
    justifications: tuple[str | None, str | None] = (None, None)
    requests: tuple[int, int] | None = field(default=None, repr=False)

    def decide(self, first: Reading, second: Reading) -> None:
        as_model = {1: self.model_a, 2: TIE, 3: self.model_b}
        self.first = as_model.get(first.score) if first.score else None
        swapped = {1: self.model_b, 2: TIE, 3: self.model_a}
        self.second = swapped.get(second.score) if second.score else None
        self.justifications = (first.justification, second.justification)
        failed = [
            (o, r) for o, r in (("first order", first), ("second order", second)) if r.score is None
        ]
        if failed:
            self.status = failed[0][1].status
            self.reason = "; ".join(f"{o}: {r.reason}" for o, r in failed)
            return
        self.consistent = self.first == self.second
        self.winner = self.first if self.consistent else TIE
        if not self.consistent:
            self.reason = (
                f"inconsistent: {self.first} with {self.model_a} as Answer A, "
                f"{self.second} with {self.model_b} as Answer A; counted as a tie"
            )


def metric_safe(name: str) -> str:
    """A model name as a run-metric key part (MLflow allows ``[A-Za-z0-9_\\-. :]``)."""
    return re.sub(r"[^A-Za-z0-9_\-. :]", "_", str(name)) or "_"


def _rate(part: int, whole: int) -> float:
    return part / whole if whole else math.nan


@dataclass
class PairwiseResult:
    """Returned by :meth:`PairwiseJudge.compare`."""

    name: str
    models: tuple[str, ...]
    verdicts: list[PairVerdict]
    ratings: Ratings
    accounting: dict[str, float]
    judge: dict[str, Any]

    @property
    def scored(self) -> list[PairVerdict]:
        return [v for v in self.verdicts if v.winner is not None]

    @property
    def consistency_rate(self) -> float:
        """Share of pairs judged in both orders whose two verdicts agree."""
        both = [v for v in self.verdicts if v.consistent is not None]
        return _rate(sum(bool(v.consistent) for v in both), len(both))

    @property
    def first_position_rate(self) -> float:
        """Of the non-tie verdicts (each order counted), the share that chose Answer A."""
        picks = [
            pick == model
            for v in self.verdicts
            if v.consistent is not None
            for pick, model in ((v.first, v.model_a), (v.second, v.model_b))
            if pick != TIE
        ]
        return _rate(sum(picks), len(picks))

    @property
    def tie_rate(self) -> float:
        scored = self.scored
        return _rate(sum(v.winner == TIE for v in scored), len(scored))

    def pair_summary(self) -> pd.DataFrame:
        """One row per pair of models: wins of each, ties, unscored, consistency."""
        records = []
        for i, a in enumerate(self.models):
            for b in self.models[i + 1 :]:
                mine = [v for v in self.verdicts if (v.model_a, v.model_b) == (a, b)]
                scored = [v for v in mine if v.winner is not None]
                both = [v for v in mine if v.consistent is not None]
                records.append(
                    {
                        "model_a": a,
                        "model_b": b,
                        "wins_a": sum(v.winner == a for v in scored),
                        "wins_b": sum(v.winner == b for v in scored),
                        "ties": sum(v.winner == TIE for v in scored),
                        "scored": len(scored),
                        "unscored": len(mine) - len(scored),
                        "consistency_rate": _rate(sum(bool(v.consistent) for v in both), len(both)),
                    }
                )
        return pd.DataFrame.from_records(
            records,
            columns=[
                "model_a",
                "model_b",
                "wins_a",
                "wins_b",
                "ties",
                "scored",
                "unscored",
                "consistency_rate",
            ],
        )

    def model_summary(self) -> pd.DataFrame:
        """One row per model: wins, losses, ties, win rate and BT rating with intervals."""
        ratings = self.ratings.as_dict()
        records = []
        for m in self.models:
            mine = [v for v in self.scored if m in (v.model_a, v.model_b)]
            wins = sum(v.winner == m for v in mine)
            ties = sum(v.winner == TIE for v in mine)
            records.append(
                {
                    "model": m,
                    "wins": wins,
                    "ties": ties,
                    "losses": len(mine) - wins - ties,
                    "comparisons": len(mine),
                    **ratings[m],
                }
            )
        return (
            pd.DataFrame.from_records(records)
            .sort_values("rating", ascending=False, kind="stable")
            .reset_index(drop=True)
        )

    def frame(self) -> pd.DataFrame:
        """Every pair of every row (the per-pair table)."""
        return pd.DataFrame.from_records(
            [
                {
                    "row": v.row,
                    "model_a": v.model_a,
                    "model_b": v.model_b,
                    "verdict_a_first": v.first,
                    "verdict_b_first": v.second,
                    "winner": v.winner,
                    "consistent": v.consistent,
                    "judged": v.judged,
                    "status": v.status,
                    "reason": v.reason,
                    "justification_a_first": v.justifications[0],
                    "justification_b_first": v.justifications[1],
                }
                for v in self.verdicts
            ]
        )

    def metrics(self) -> dict[str, float]:
        """Run metrics, ``<name>/...``: consistency, ties, per-model win rates and ratings."""
        p = self.name
        out = {
            f"{p}/consistency_rate": self.consistency_rate,
            f"{p}/first_position_rate": self.first_position_rate,
            f"{p}/tie_rate": self.tie_rate,
            f"{p}/pairs_scored": float(len(self.scored)),
            f"{p}/pairs_unscored": float(len(self.verdicts) - len(self.scored)),
        }
        for m, values in self.ratings.as_dict().items():
            key = metric_safe(m)
            out[f"{p}/{key}/win_rate"] = values["win_rate"]
            out[f"{p}/{key}/win_rate_ci_low"] = values["win_rate_ci_low"]
            out[f"{p}/{key}/win_rate_ci_high"] = values["win_rate_ci_high"]
            out[f"{p}/{key}/bt_rating"] = values["rating"]
            out[f"{p}/{key}/bt_rating_ci_low"] = values["rating_ci_low"]
            out[f"{p}/{key}/bt_rating_ci_high"] = values["rating_ci_high"]
        for rec in self.pair_summary().to_dict(orient="records"):
            pair = f"{p}/{metric_safe(rec['model_a'])}_vs_{metric_safe(rec['model_b'])}"
            for k in ("wins_a", "wins_b", "ties", "consistency_rate"):
                out[f"{pair}/{k}"] = float(rec[k])
        out.update({f"{p}/{k}": float(v) for k, v in self.accounting.items()})
        return {k: v for k, v in out.items() if not math.isnan(v)}

    def to_json(self) -> dict[str, Any]:
        """Everything, JSON-ready: the judge, the summaries, the ratings' method, every pair."""

        def plain(frame: pd.DataFrame) -> list[dict[str, Any]]:
            return [
                {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
                for r in frame.to_dict(orient="records")
            ]

        return {
            "judge": self.judge,
            "models": list(self.models),
            "consistency_rate": _none(self.consistency_rate),
            "first_position_rate": _none(self.first_position_rate),
            "tie_rate": _none(self.tie_rate),
            "ratings_method": {
                "model": "Bradley-Terry (MM fit, ties = half a win, one virtual tie per pair)",
                "interval": f"percentile bootstrap over inputs, "
                f"{self.ratings.n_bootstrap} resamples, seed "
                f"{self.ratings.seed}, level {self.ratings.level}",
            },
            "models_summary": plain(self.model_summary()),
            "pairs_summary": plain(self.pair_summary()),
            "accounting": self.accounting,
            "pairs": plain(self.frame()),
        }

    def summary(self) -> str:
        """A few lines of text: per model rating [interval] and win rate, then the consistency."""
        lines = [
            f"pairwise judge {self.name} ({self.judge.get('judge_model')}): consistency "
            f"{self.consistency_rate:.3g}, ties {self.tie_rate:.3g}"
        ]
        for r in self.model_summary().to_dict(orient="records"):
            lines.append(
                f"  {r['model']}: BT {r['rating']:+.3g} [{r['rating_ci_low']:+.3g}, "
                f"{r['rating_ci_high']:+.3g}], wins {r['wins']} ties {r['ties']} "
                f"losses {r['losses']}"
            )
        return "\n".join(lines)


def _none(value: float) -> float | None:
    return None if math.isnan(value) else value
