"""Per-language slices: the HTML report sections and ``select`` over one language's slice."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from mlflow_llm_eval.config import ConfigError, load_config
from mlflow_llm_eval.function_metrics.exact_match import exact_match
from mlflow_llm_eval.function_metrics.rouge import rougeL
from mlflow_llm_eval.report.comparison import ModelSummary, comparison_report
from mlflow_llm_eval.report.evaluation import evaluation_report
from mlflow_llm_eval.select import Candidate, select_winner

import pandas as pd

DATA = '{"id": 1, "question": "q1", "answer": "a1"}\n'


def _config(tmp_path: Path, select: str) -> Path:
    (tmp_path / "qa.jsonl").write_text(DATA)
    path = tmp_path / "eval.yaml"
    path.write_text(
        textwrap.dedent(
            f"""
            dataset: {{path: qa.jsonl, inputs: question, targets: answer}}
            models:
              - {{name: a, python: "builtins:list"}}
            metrics: [exact_match, rougeL]
            select: {select}
            """
        ).lstrip("\n")
    )
    return path


def test_select_language_reads_the_slice(tmp_path: Path) -> None:
    loaded = load_config(_config(tmp_path, "{maximize: rougeL/v1/mean, language: ko-KR}"))
    assert loaded.config.select.language == "ko"
    assert loaded.metrics.objective.key == "rougeL/v1/lang_ko/mean"
    assert [t.key for t in loaded.metrics.tie_breakers] == ["exact_match/v1/lang_ko/mean"]
    overall = load_config(_config(tmp_path, "{maximize: rougeL/v1/mean}"))
    assert overall.metrics.objective.key == "rougeL/v1/mean"


@pytest.mark.parametrize(
    ("select", "message"),
    [
        ("{maximize: rougeL/v1/mean, language: k1}", "a language must be a code"),
        ("{maximize: rouge9/v1/mean, language: ko}", "rouge9/v1/mean"),
        (
            "{maximize: rougeL/v1/mean, language: ko, require_significance: 0.05}",
            "require_significance",
        ),
    ],
)
def test_select_language_is_validated_at_load(tmp_path: Path, select: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(_config(tmp_path, select))


def test_the_winner_on_the_korean_slice_differs_from_the_overall_one(tmp_path: Path) -> None:
    a = {"rougeL/v1/mean": 0.8, "rougeL/v1/lang_ko/mean": 0.3, "rougeL/v1/lang_en/mean": 0.9}
    b = {"rougeL/v1/mean": 0.6, "rougeL/v1/lang_ko/mean": 0.5, "rougeL/v1/lang_en/mean": 0.65}
    plan = load_config(_config(tmp_path, "{maximize: rougeL/v1/mean, language: ko}")).metrics
    picked = select_winner([Candidate("a", a), Candidate("b", b)], plan.objective, [])
    overall = select_winner(
        [Candidate("a", a), Candidate("b", b)],
        load_config(_config(tmp_path, "{maximize: rougeL/v1/mean}")).metrics.objective,
        [],
    )
    assert (picked.winner, overall.winner) == ("b", "a")


def test_reports_show_the_per_language_slices() -> None:
    aggregates = {
        "rougeL/v1/mean": 0.6,
        "rougeL/v1/lang_ko/mean": 0.25,
        "rougeL/v1/lang_ko/count": 2.0,
        "rougeL/v1/lang_ko/mean_ci_low": 0.1,
        "rougeL/v1/lang_en/mean": 0.95,
        "rougeL/v1/lang_en/count": 1.0,
    }
    table = pd.DataFrame({"predictions": ["a"], "rougeL/v1/score": [0.6]})
    page = evaluation_report(title="t", table=table, aggregates=aggregates, metrics=[rougeL()])
    assert "<h2>Per language</h2>" in page
    assert 'data-key="rougeL/v1/lang_ko/mean" data-value="0.25"' in page
    assert 'data-key="rougeL/v1/lang_en/count" data-value="1.0"' in page
    plain = evaluation_report(
        title="t", table=table, aggregates={"rougeL/v1/mean": 0.6}, metrics=[rougeL()]
    )
    assert "Per language" not in plain  # one language: no section
    models = [
        ModelSummary("a", "python", "x", None, None, aggregates),
        ModelSummary("b", "python", "y", None, None, {"rougeL/v1/lang_ko/mean": 0.75}),
    ]
    html = comparison_report(title="c", models=models, metrics=[rougeL(), exact_match()])
    assert "<th>a: mean</th><th>b: mean</th>" in html
    assert 'data-key="rougeL/v1/lang_ko/mean" data-value="0.75"' in html
