"""The notebooks run end to end (executed with nbclient), judges and endpoint pointed at a local server."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from support.fake_openai import FakeOpenAI, hashed_score

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def respond(prompt: str) -> str:
    """An answer for the model under test (its prompt starts with 'Context:'), a grade otherwise."""
    if prompt.startswith("Context:"):
        return prompt.split("Context: ", 1)[1].split(". ")[1].rstrip(".")
    score = hashed_score(prompt)
    return json.dumps({"score": score, "justification": f"graded {score} by the local server"})


@pytest.fixture(scope="module")
def server():
    with FakeOpenAI(responder=respond) as fake:
        yield fake


def outputs_text(notebook: nbformat.NotebookNode) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.extend(str(v) for k, v in output.get("data", {}).items() if k == "text/plain")
    return "\n".join(parts)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_end_to_end(path: Path, server: FakeOpenAI, sqlite_tracking_uri: str,
                                  tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", sqlite_tracking_uri)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.delenv("OPENAI_API_BASE", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-local-dummy")
    monkeypatch.setenv("MLFLOW_LLM_EVAL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    server.reset()
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=240, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
    assert server.stats()["requests"] > 0  # the judges (and endpoint model) used the local server
    text = outputs_text(notebook)
    if path.stem == "03_compare_models":
        assert "winner: " in text and "(none)" not in text
        assert "Ottawa" in json.dumps([r.body for r in server.requests])
