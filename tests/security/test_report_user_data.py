"""The HTML report shows the user's data as given (issue 17, part 3), as the logged table does.

User cells (inputs, predictions, targets) are shown exactly as given except the exact values of
the credentials the run uses (here the judge's key, from ``OPENAI_API_KEY``), replaced by the
same function as the logged table's (``mlflow_adapter.logging.redacted_table``). The text the
package writes itself (a judge's justification, reasons, run details) keeps the broad rules
(key shapes, secret names, environment values). A real runner run (``evaluate_models``) on the
sqlite store, the judge on the local fake OpenAI server; the report read back from the run.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from support.fake_openai import FakeOpenAI

from mlflow_llm_eval.function_metrics.exact_match import exact_match
from mlflow_llm_eval.redaction import MARKER
from mlflow_llm_eval.report import evaluation_report
from mlflow_llm_eval.runner import evaluate_models

RUN_KEY = "sk-run-key-Zq81mXv4LpT2nWc7"  # the judge's key this run sends (environment)
DOC_ROW = "export api_key=sk-abc123def456ghi789jkl"  # documentation the user evaluates
ROWS = [
    ("Who wrote Emma?", "Jane Austen", "Emma was written by Jane Austen."),
    ("How do I set the key?", DOC_ROW, DOC_ROW),
    ("Echo my key", "no key", f"your key is {RUN_KEY}"),
]


@pytest.fixture()
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mlflow_store):
    monkeypatch.setenv("OPENAI_API_KEY", RUN_KEY)
    monkeypatch.delenv("OPENAI_API_BASE", raising=False)
    monkeypatch.setenv("MLFLOW_LLM_EVAL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Jane Austen")  # an "AUTH" variable, no secret
    monkeypatch.setenv("DOCS_API_TOKEN", "sk-abc123def456ghi789jkl")  # not used by the run
    return monkeypatch


def _shown(page: str) -> str:
    """The page's text as a reader sees it (entities decoded)."""
    return html.unescape(page)


def test_the_report_shows_user_cells_as_given_except_the_runs_key(env, tmp_path) -> None:
    (tmp_path / "qa.jsonl").write_text(
        "".join(json.dumps({"question": q, "answer": a}) + "\n" for q, a, _ in ROWS)
    )
    answers = [p for _, _, p in ROWS]
    config = {
        "experiment": f"report-{tmp_path.name}",
        "dataset": {"path": "qa.jsonl", "inputs": "question", "targets": "answer"},
        "models": [{"name": "m", "python": lambda frame: answers[: len(frame)]}],
        "metrics": ["exact_match", "answer_correctness"],
        "judge": {"model": "openai:/fake-judge", "cache": False},
        "report": {"worst_rows": 5},
    }
    justification = "Saw sk-abc123def456ghi789jkl and Jane Austen"  # the package's text
    with FakeOpenAI(
        responder=lambda p: json.dumps({"score": 3, "justification": justification})
    ) as server:
        env.setenv("OPENAI_BASE_URL", server.base_url)
        outcome = evaluate_models(config, base_dir=tmp_path).outcome("m")
        assert server.stats()["requests"] == len(ROWS)
        assert server.requests[0].headers["authorization"] == f"Bearer {RUN_KEY}"  # in use
    assert outcome.ok, outcome.failure
    client = mlflow.MlflowClient()
    page = _shown(
        Path(client.download_artifacts(outcome.run_id, "llm_eval/report.html")).read_text()
    )
    for question, target, prediction in ROWS[:2]:  # user cells: as given
        assert question in page and target in page and prediction in page
    assert "Jane Austen" in page and DOC_ROW in page
    assert RUN_KEY not in page  # the run's own key: replaced, in the user's cell too
    assert f"your key is {MARKER}" in page
    # the package's own text keeps the broad rules (an env value, a key shape)
    assert f"Saw {MARKER} and {MARKER}" in page and justification not in page


def test_an_unlogged_sample_gets_the_same_rule(env) -> None:
    """The Spark runner reports from the driver's sample (not read back from the logged table):
    the report itself replaces the run's credentials, and nothing else, in user cells."""
    table = pd.DataFrame(
        {
            "inputs": [q for q, _, _ in ROWS],
            "predictions": [p for _, _, p in ROWS],
            "targets": [t for _, t, _ in ROWS],
            "exact_match/v1/score": [0.0, 1.0, 0.0],
            "exact_match/v1/status": ["ok", "ok", "ok"],
        }
    )
    page = _shown(
        evaluation_report(
            title="m",
            table=table,
            aggregates={"exact_match/v1/mean": 1 / 3},
            metrics=[exact_match()],
            details={"note": f"token={RUN_KEY}", "author": "Jane Austen"},
            credentials=[RUN_KEY],
        )
    )
    assert "Emma was written by Jane Austen." in page and DOC_ROW in page
    assert RUN_KEY not in page and f"your key is {MARKER}" in page
    # run details are the package's text: broad rules (the env value of GIT_AUTHOR_NAME too)
    assert f"token={MARKER}" in page
    assert f"<th>author</th><td class='text'>{MARKER}</td>" in page
