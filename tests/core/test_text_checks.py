"""The per-row text checks every text metric uses: one corpus of bad cells, one status each."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mlflow_llm_eval.core.text import check_text, score_text_rows
from mlflow_llm_eval.core.types import RowScore

BAD_CELLS = [
    (None, "missing"),
    (float("nan"), "missing"),
    (pd.NA, "missing"),
    (np.float64("nan"), "missing"),
    (3, "not_text"),
    (2.5, "not_text"),
    ({"text": "a"}, "not_text"),
    (["a", "b"], "not_text"),
    (b"bytes", "not_text"),
    ("", "empty"),
    ("   \n", "empty"),
    ("ok \ud800 lone surrogate", "invalid_unicode"),
    ("x" * 1_000_001, "too_long"),
]


@pytest.mark.parametrize(("cell", "status"), BAD_CELLS, ids=[s for _, s in BAD_CELLS])
def test_bad_cells_get_a_status_and_reason(cell, status) -> None:
    checked = check_text(cell, column="targets")
    assert checked.text is None
    assert checked.unscored.status == status
    assert "targets" in checked.unscored.reason


def test_good_text_passes_including_emoji_and_scripts() -> None:
    for text in ["hello", "😀 émoji", "東京は日本の首都です", "Привет", "x" * 1000]:
        assert check_text(text).text == text


def test_score_text_rows_scores_only_valid_rows_in_order() -> None:
    seen = []

    def scorer(rows):
        seen.extend(rows)
        return [RowScore.ok(len(a) + len(b)) for a, b in rows]

    result = score_text_rows(
        [("predictions", ["ab", None, "c", "d"]), ("targets", ["x", "y", 5, "zz"])], scorer
    )
    assert seen == [("ab", "x"), ("d", "zz")]
    assert result.scores[0] == 3.0 and result.scores[3] == 3.0
    assert math.isnan(result.scores[1]) and math.isnan(result.scores[2])
    assert result.statuses == ["ok", "missing", "not_text", "ok"]
