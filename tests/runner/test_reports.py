"""HTML reports, parsed back: the logged numbers are there, user text is escaped, nothing external."""

from __future__ import annotations

import base64
import math
from html.parser import HTMLParser

import pandas as pd
import pytest

from mlflow_llm_eval import make_row_metric
from mlflow_llm_eval.core.engine import score_frame
from mlflow_llm_eval.function_metrics.exact_match import exact_match
from mlflow_llm_eval.report import comparison_frame, comparison_report, evaluation_report
from mlflow_llm_eval.report.comparison import ModelSummary
from mlflow_llm_eval.select import Candidate, Constraint, Objective, select_winner

EVIL = "<script>alert('x')</script> & \"quoted\""


class Page(HTMLParser):
    """Collects numeric cells (data-key/data-value), tags, image sources and visible text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.cells: list[dict[str, str]] = []
        self.tags: list[str] = []
        self.sources: list[str] = []
        self.text: list[str] = []
        self._cell: dict[str, str] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = {k: v or "" for k, v in attrs}
        if tag == "td" and "data-key" in values:
            self._cell = {**values, "text": ""}
            self.cells.append(self._cell)
        for attribute in ("src", "href"):
            if attribute in values:
                self.sources.append(values[attribute])

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell["text"] += data

    def value(self, key: str, **attrs: str) -> float:
        found = [
            c
            for c in self.cells
            if c["data-key"] == key and all(c.get(f"data-{k}") == v for k, v in attrs.items())
        ]
        assert len(found) == 1, (key, attrs, found)
        return float(found[0]["data-value"]) if found[0]["data-value"] else math.nan


@make_row_metric(name="length_ok", requires=("predictions",))
def length_ok(prediction):
    """1 when the answer is at most three words."""
    words = len(str(prediction).split())
    return float(words <= 3), f"{words} words"


@pytest.fixture(scope="module")
def scored():
    frame = pd.DataFrame(
        {
            "inputs": ["capital of France?", EVIL, "2+2?", "sky colour?", "who wrote Hamlet?"],
            "predictions": [
                "Paris",
                "I will not answer that",
                "4",
                None,
                "It was William Shakespeare, I think",
            ],
            "targets": ["Paris", "nothing", "4", "blue", "Shakespeare"],
        }
    )
    metrics = [exact_match(), length_ok]
    return score_frame(frame, metrics), metrics


def assert_self_contained(page: Page) -> None:
    assert "script" not in page.tags and "link" not in page.tags
    assert page.sources and all(s.startswith("data:image/png;base64,") for s in page.sources)
    for source in page.sources:
        assert base64.b64decode(source.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluation_report_shows_the_logged_numbers(scored) -> None:
    result, metrics = scored
    page = Page(
        evaluation_report(
            title=f"model {EVIL}",
            table=result.table,
            aggregates=result.aggregates,
            metrics=metrics,
            worst_rows=2,
        )
    )
    checked = 0
    for key, value in result.aggregates.items():
        aggregation = key.split("/")[-1]
        if key.count("/") == 2 and aggregation in (
            "mean",
            "mean_ci_low",
            "mean_ci_high",
            "p90",
            "variance",
            "count",
            "unscored",
        ):
            assert page.value(key) == pytest.approx(value, nan_ok=True), key
            checked += 1
    assert checked == 14
    assert page.value("exact_match/v1/count") == 4 and page.value("exact_match/v1/unscored") == 1
    assert_self_contained(page)


def test_user_text_is_escaped_not_executed(scored) -> None:
    result, metrics = scored
    html = evaluation_report(
        title=EVIL,
        table=result.table,
        aggregates=result.aggregates,
        metrics=metrics,
        details={"source": EVIL},
        worst_rows=5,
    )
    page = Page(html)
    assert "script" not in page.tags
    assert EVIL in "".join(page.text)  # shown literally
    assert "<script>" not in html


def test_worst_rows_come_lowest_first_with_justifications(scored) -> None:
    result, metrics = scored
    page = Page(
        evaluation_report(
            title="m",
            table=result.table,
            aggregates=result.aggregates,
            metrics=metrics,
            worst_rows=2,
        )
    )
    rows = [c for c in page.cells if c["data-key"] == "length_ok/v1/row"]
    scores = [float(c["data-value"]) for c in page.cells if c["data-key"] == "length_ok/v1/score"]
    assert scores == sorted(result.table["length_ok/v1/score"].dropna())[:2]
    assert [int(float(c["data-value"])) for c in rows][:2] == [1, 4]  # the two long answers
    text = "".join(page.text)
    assert "5 words" in text and "6 words" in text and "1 words" not in text
    assert "missing" in text  # the None prediction is listed among unscored rows with its status


def test_comparison_report_shows_each_model_and_the_decision() -> None:
    key = "exact_match/v1"
    models = [
        ModelSummary(
            "a",
            "python",
            "m:a",
            "run-a",
            None,
            {
                f"{key}/mean": 0.5,
                f"{key}/mean_ci_low": 0.1,
                f"{key}/mean_ci_high": 0.9,
                "latency/v1/p90": 3.0,
            },
        ),
        ModelSummary(
            "b<i>",
            "uri",
            "runs:/x/model",
            "run-b",
            None,
            {
                f"{key}/mean": 0.25,
                f"{key}/mean_ci_low": 0.0,
                f"{key}/mean_ci_high": 0.5,
                "latency/v1/p90": 1.0,
            },
        ),
        ModelSummary("c", "endpoint", "openai:/gpt", None, "ValueError: needs OPENAI_API_KEY", {}),
    ]
    objective, constraints = Objective(f"{key}/mean"), [Constraint.parse("latency/v1/p90 < 2")]
    selection = select_winner(
        [Candidate(m.name, m.metrics, m.failure) for m in models], objective, constraints
    )
    html = comparison_report(
        title="cmp",
        models=models,
        metrics=[exact_match()],
        selection=selection,
        objective=objective,
        constraints=constraints,
        rule="maximize exact_match/v1/mean",
        registration="not registered: x",
    )
    page = Page(html)
    assert page.value(f"{key}/mean", model="a") == 0.5
    assert page.value(f"{key}/mean", model="b<i>") == 0.25
    assert page.value("latency/v1/p90", model="b<i>") == 1.0
    assert page.value("rank", model="b<i>") == 1 and math.isnan(page.value("rank", model="a"))
    text = " ".join(page.text)
    assert "Winner: b<i>" in text and "needs OPENAI_API_KEY" in text and "not registered: x" in text
    assert "i" not in page.tags
    assert_self_contained(page)
    frame = comparison_frame(models, [exact_match()], selection, objective, constraints)
    assert frame["winner"].tolist() == [False, True, False]
    assert frame["status"].tolist() == ["ok", "ok", "failed"]
    assert frame["rank"].tolist()[1] == 1
