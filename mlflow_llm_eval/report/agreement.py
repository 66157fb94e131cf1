"""The judge–human agreement section of an evaluation report: numbers and confusion matrices.

>>> import pandas as pd
>>> from mlflow_llm_eval.custom import make_row_metric
>>> m = make_row_metric(lambda p: 1.0, name="grader", value_kind="ordinal", value_range=(1, 3))
>>> t = pd.DataFrame({"grader/v1/score": [1.0, 2.0, 3.0], "human": [1, 2, 2]})
>>> html = agreement_section([m], t, {"grader": "human"})
>>> "Judge–human agreement" in html, 'data-key="grader/v1/human_exact_agreement"' in html
(True, True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from mlflow_llm_eval.agreement import agreements
from mlflow_llm_eval.core.types import Metric
from mlflow_llm_eval.report.html import esc, image, num_cell, row, table
from mlflow_llm_eval.report.plots import confusion_png


def agreement_section(
    metrics: Sequence[Metric], frame: pd.DataFrame, human_labels: Mapping[str, str] | None
) -> str:
    """Exact agreement, quadratic-weighted kappa, Spearman rho and a confusion plot per judge."""
    if not human_labels:
        return ""
    found = agreements(frame, human_labels, metrics)
    rows, figures = [], []
    for key, a in found.items():
        cells = [
            f"<td>{esc(key)}</td>",
            f"<td>{esc(a.human_column)}</td>",
            num_cell("rows", a.n),
            num_cell("skipped", a.skipped),
        ]
        cells += [
            num_cell(f"{key}/{name}", value)
            for name, value in a.metrics().items()
            if name != "human_rows"
        ]
        rows.append(row(cells))
        figures.append(
            image(
                confusion_png(a.confusion, a.labels, f"{key} vs {a.human_column}"),
                f"{key}: confusion matrix (rows: human, columns: judge)",
            )
        )
    headers = [
        "judge",
        "human labels",
        "rows",
        "rows skipped (a value missing)",
        "exact agreement",
        "Cohen's κ (quadratic)",
        "Spearman ρ",
    ]
    return (
        "<h2>Judge–human agreement</h2>"
        + table(headers, rows)
        + "<div class='plots'>"
        + "".join(f for f in figures if f)
        + "</div>"
    )
