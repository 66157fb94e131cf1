"""Judge–human agreement: how well an LLM judge's scores match human labels on the same rows.

``judge_agreement(frame, judge_column, human_column)`` compares the two columns on the rows
where both are present: exact agreement (share of rows with the same score), quadratic-weighted
Cohen's kappa (``sklearn.metrics.cohen_kappa_score(weights="quadratic")``: disagreements cost
the square of their distance on the scale; 1 = perfect, 0 = chance), Spearman's rho (scipy) and
the confusion matrix (rows: human label, columns: judge score). Scores are compared as integers
on the scale (a judge's 1–5 answer; a non-integer is rounded). No MLflow here.

    >>> import pandas as pd
    >>> f = pd.DataFrame({"judge": [5, 4, 2, 1, 3, None], "human": [5, 4, 3, 1, 3, 2]})
    >>> a = judge_agreement(f, "judge", "human", labels=(1, 5))
    >>> a.n, a.skipped, round(a.exact, 2), round(a.kappa_quadratic, 3), a.confusion[2]
    (5, 1, 0.8, 0.947, [0, 1, 1, 0, 0])
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Agreement:
    """Agreement between a judge column and a human column (see the module docstring)."""

    judge_column: str
    human_column: str
    n: int
    skipped: int
    exact: float
    kappa_quadratic: float
    spearman: float
    labels: list[int]
    #: ``confusion[i][j]``: rows the human labelled ``labels[i]`` and the judge scored ``labels[j]``.
    confusion: list[list[int]]

    def metrics(self) -> dict[str, float]:
        """Run metrics, named after the judge's key by the caller (``<judge>/human_kappa`` ...)."""
        return {
            "human_exact_agreement": self.exact,
            "human_kappa": self.kappa_quadratic,
            "human_spearman": self.spearman,
            "human_rows": float(self.n),
        }

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _numbers(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        raise KeyError(
            f"column '{column}' is not in the data; columns present: {list(frame.columns)}"
        )
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = frame[column].notna() & values.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueError(
            f"column '{column}' holds a non-numeric label at row {row}: "
            f"{frame[column].iloc[row]!r}; labels must be numbers on the judge's scale"
        )
    return values.astype(float)


def judge_agreement(
    frame: pd.DataFrame,
    judge_column: str,
    human_column: str,
    *,
    labels: Sequence[float] | None = None,
) -> Agreement:
    """Agreement of ``judge_column`` with ``human_column`` over the rows where both are numbers.

    ``labels``: the scale's ends, e.g. ``(1, 5)`` (default: the values seen), which fixes the
    confusion matrix's rows and columns.
    """
    from scipy import stats
    from sklearn.metrics import cohen_kappa_score, confusion_matrix

    judge, human = _numbers(frame, judge_column), _numbers(frame, human_column)
    both = (judge.notna() & human.notna()).to_numpy()
    j = np.rint(judge.to_numpy()[both]).astype(int)
    h = np.rint(human.to_numpy()[both]).astype(int)
    seen = sorted(set(j.tolist()) | set(h.tolist()))
    scale = list(range(int(labels[0]), int(labels[-1]) + 1)) if labels is not None else seen
    scale = sorted(set(scale) | set(seen))
    if len(j) == 0:
        return Agreement(
            judge_column,
            human_column,
            0,
            int(len(frame)),
            math.nan,
            math.nan,
            math.nan,
            scale,
            [[0] * len(scale) for _ in scale],
        )
    exact = float(np.mean(j == h))
    kappa = (
        float(cohen_kappa_score(h, j, weights="quadratic", labels=scale))
        if len(seen) > 1
        else math.nan
    )
    rho = (
        float(stats.spearmanr(h, j).statistic) if len(set(j)) > 1 and len(set(h)) > 1 else math.nan
    )
    matrix = confusion_matrix(h, j, labels=scale).tolist()
    return Agreement(
        judge_column,
        human_column,
        int(len(j)),
        int(len(frame) - len(j)),
        exact,
        kappa,
        rho,
        scale,
        matrix,
    )


def agreements(
    table: pd.DataFrame, human_labels: Mapping[str, str], metrics: Sequence[Any]
) -> dict[str, Agreement]:
    """Agreement per judge of ``human_labels`` (judge name -> human column), keyed by metric key.

    A name that matches no metric is an error listing the metrics; the judge column is the
    metric's ``<key>/score`` and the scale its ``value_range``.
    """
    by_name = {m.name: m for m in metrics}
    out: dict[str, Agreement] = {}
    for name, column in human_labels.items():
        metric = by_name.get(name)
        if metric is None:
            raise ValueError(
                f"human_labels names '{name}', which is not one of the metrics {sorted(by_name)}"
            )
        scale = metric.value_range if metric.value_kind == "ordinal" else None
        out[metric.key] = judge_agreement(table, f"{metric.key}/score", column, labels=scale)
    return out


def agreement_metrics(found: Mapping[str, Agreement]) -> dict[str, float]:
    """``<judge key>/human_kappa`` etc. for every agreement."""
    return {
        f"{key}/{name}": value for key, a in found.items() for name, value in a.metrics().items()
    }
