"""The judge pack: files load, MLflow's five judges keep MLflow's meaning, versions guard rubrics."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlflow_llm_eval.core.registry import available_metrics, get_metric
from mlflow_llm_eval.judge import builtin
from mlflow_llm_eval.judge.pack import PACK_LOCATIONS, JudgeSpec, load_pack, pack_dir

REPO = Path(__file__).resolve().parents[2]
VERSIONS_FILE = Path(__file__).with_name("pack_versions.json")
MLFLOW_JUDGES = {
    "answer_similarity": "AnswerSimilarityMetric",
    "answer_correctness": "AnswerCorrectnessMetric",
    "faithfulness": "FaithfulnessMetric",
    "answer_relevance": "AnswerRelevanceMetric",
    "relevance": "RelevanceMetric",
}


def _words(text: str) -> list[str]:
    return re.sub(r"\s+", " ", text.replace("- Score", " - Score")).split()


def test_pack_has_mlflow_judges_and_more():
    names = set(load_pack())
    assert set(MLFLOW_JUDGES) | {"coherence", "fluency", "groundedness"} <= names
    for spec in load_pack().values():
        assert spec.definition and spec.grading_prompt and spec.description
        assert spec.scale == (1, 5)
        assert len(spec.examples) >= 2
        for example in spec.examples:
            assert spec.scale[0] <= example.score <= spec.scale[1]


@pytest.mark.parametrize("name", sorted(MLFLOW_JUDGES))
def test_mlflow_judges_keep_mlflow_text(name: str):
    """Definition, rubric and examples are MLflow's own words (whitespace aside)."""
    from mlflow.metrics.genai.prompts import v1

    reference = getattr(v1, MLFLOW_JUDGES[name])
    spec = load_pack()[name]
    assert _words(spec.definition) == _words(reference.definition)
    assert _words(spec.grading_prompt) == _words(reference.grading_prompt)
    assert len(spec.examples) == len(reference.default_examples)
    for ours, theirs in zip(spec.examples, reference.default_examples):
        assert (ours.input, ours.output, ours.score) == (theirs.input, theirs.output, theirs.score)
        assert _words(ours.justification) == _words(theirs.justification)
        assert dict(ours.grading_context or {}) == dict(theirs.grading_context or {})
    expected_columns = tuple(getattr(reference, "grading_context_columns", []))
    assert spec.grading_context_columns == expected_columns


@pytest.mark.parametrize("name", sorted(MLFLOW_JUDGES))
def test_mlflow_judges_see_the_same_columns(name: str, monkeypatch: pytest.MonkeyPatch):
    import mlflow.metrics.genai as mlflow_genai

    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    args = getattr(mlflow_genai, name)(model="openai:/gpt-4o-mini").genai_metric_args
    spec = load_pack()[name]
    assert spec.include_input == args["include_input"]
    assert list(spec.grading_context_columns) == list(args["grading_context_columns"] or [])


def _fingerprint(spec: JudgeSpec) -> str:
    blob = json.dumps(
        [
            spec.definition,
            spec.grading_prompt,
            list(spec.scale),
            [repr(e) for e in spec.examples],
            list(spec.grading_context_columns),
            spec.include_input,
        ],
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def test_changed_rubric_bumps_version():
    """Regenerate after bumping a version: UPDATE_PACK_VERSIONS=1 pytest tests/judge/test_pack.py"""
    current = {spec.key: _fingerprint(spec) for spec in load_pack().values()}
    if os.environ.get("UPDATE_PACK_VERSIONS") == "1":
        known = json.loads(VERSIONS_FILE.read_text()) if VERSIONS_FILE.exists() else {}
        VERSIONS_FILE.write_text(json.dumps({**known, **current}, indent=2, sort_keys=True) + "\n")
    known = json.loads(VERSIONS_FILE.read_text())
    for key, fingerprint in current.items():
        assert key in known, (
            f"new judge version {key}: run UPDATE_PACK_VERSIONS=1 pytest {__file__}"
        )
        assert known[key] == fingerprint, (
            f"{key}: its prompt changed but its version did not; bump `version` in its file"
        )


def test_every_pack_judge_is_registered(monkeypatch: pytest.MonkeyPatch, fake):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    assert set(load_pack()) <= set(available_metrics())
    assert set(builtin.METRICS) == set(load_pack())
    metric = get_metric("faithfulness", model="openai:/gpt-4o-mini")
    assert metric.key == "faithfulness/v1" and metric.requires == ("predictions", "context")


def test_fluency_grades_output_only(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    assert builtin.fluency(model="openai:/m").requires == ("predictions",)


def test_pack_found_in_wheel_layout(tmp_path: Path):
    """Installed from a wheel the files sit in mlflow_llm_eval/_judge_pack (pyproject force-include)."""
    site = tmp_path / "site"
    shutil.copytree(
        REPO / "mlflow_llm_eval",
        site / "mlflow_llm_eval",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copytree(REPO / "metrics", site / "mlflow_llm_eval" / "_judge_pack")
    code = (
        "from mlflow_llm_eval.judge.pack import pack_dir, load_pack; "
        "print(pack_dir()); print(len(load_pack()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(site)},
        check=True,
    ).stdout.split()
    assert Path(out[0]) == site / "mlflow_llm_eval" / "_judge_pack"
    assert int(out[1]) == len(load_pack())


def test_pack_found_in_source_checkout():
    assert pack_dir() == REPO / "metrics" or pack_dir() == PACK_LOCATIONS[0]
    assert PACK_LOCATIONS[1] == REPO / "metrics"
