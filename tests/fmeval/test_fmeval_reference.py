"""Agreement with FMEval's own code on a shared set of rows.

The values in ``fmeval_reference.json`` were computed by FMEval 1.2.3 itself in a separate
environment with ``tests/fmeval/make_reference.py`` (the command is in its docstring); FMEval
pins pandas 2.2, transformers<5, ray and sagemaker, so it cannot sit beside the project.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlflow_llm_eval.core.merge import public
from mlflow_llm_eval.fmeval.classification_accuracy import classification_accuracy
from mlflow_llm_eval.fmeval.factual_knowledge import (
    factual_knowledge,
    factual_knowledge_quasi_exact,
)
from mlflow_llm_eval.fmeval.perturbations import Perturbation
from mlflow_llm_eval.fmeval.qa_accuracy import METRICS as QA_METRICS
from mlflow_llm_eval.fmeval.qa_accuracy import SCORES
from mlflow_llm_eval.fmeval.semantic_robustness import semantic_robustness_wer

REFERENCE = json.loads(Path(__file__).with_name("fmeval_reference.json").read_text())
QA_ROWS = REFERENCE["qa_rows"]


def _batch(rows):
    return {"predictions": [r["prediction"] for r in rows], "targets": [r["target"] for r in rows]}


def test_reference_was_made_by_fmeval():
    assert REFERENCE["fmeval_version"] == "1.2.3" and len(QA_ROWS) >= 20


@pytest.mark.parametrize("name", sorted(QA_METRICS))
def test_qa_accuracy_equals_fmeval(name):
    # The empty prediction is scored by FMEval; ours scores it too (an empty answer is wrong).
    expected = [r[SCORES[name][0]] for r in QA_ROWS]
    assert QA_METRICS[name]().score_batch(_batch(QA_ROWS)).scores == pytest.approx(
        expected, abs=1e-12
    )


@pytest.mark.parametrize(
    ("factory", "key", "options"),
    [
        (factual_knowledge, "factual_knowledge", {}),
        (factual_knowledge_quasi_exact, "factual_knowledge_quasi_exact", {}),
        (
            factual_knowledge,
            "factual_knowledge_and",
            {"target_output_delimiter": "<AND>", "logical_operator": "AND"},
        ),
        (
            factual_knowledge_quasi_exact,
            "factual_knowledge_quasi_exact_and",
            {"target_output_delimiter": "<AND>", "logical_operator": "AND"},
        ),
    ],
)
def test_factual_knowledge_equals_fmeval(factory, key, options):
    scores = factory(**options).score_batch(_batch(QA_ROWS)).scores
    assert scores == [r[key] for r in QA_ROWS]
    assert 0 < sum(scores) < len(scores)  # the rows exercise both outcomes


def test_classification_equals_fmeval():
    ref = REFERENCE["classification"]
    metric = classification_accuracy(valid_labels=ref["valid_labels"])
    result = metric.score_batch(_batch(ref["rows"]))
    assert result.scores == [float(r["score"]) for r in ref["rows"]]
    assert result.justifications == [
        f"predicted label {r['label']!r} (target {r['target']!r})" for r in ref["rows"]
    ]
    assert public(result.extra_aggregates) == pytest.approx(
        {
            "balanced_accuracy": ref["dataset"]["balanced_accuracy_score"],
            "precision": ref["dataset"]["precision_score"],
            "recall": ref["dataset"]["recall_score"],
        },
        abs=1e-12,
    )


@pytest.mark.parametrize("kind", sorted(REFERENCE["perturbations"]))
def test_perturbations_equal_fmeval(kind):
    for text, expected in REFERENCE["perturbations"][kind].items():
        assert Perturbation(kind).perturb(text) == expected


def _echo(prompt: str) -> str:
    return " ".join(word[::-1] for word in prompt.split())


class Alternating:
    """The reference's non-deterministic toy model: every 2nd call per prompt adds a word."""

    def __init__(self):
        self.calls: dict[str, int] = {}

    def __call__(self, prompts):
        out = []
        for p in prompts:
            n = self.calls[p] = self.calls.get(p, 0) + 1
            out.append(_echo(p) + (" again" if n % 2 == 0 else ""))
        return out


@pytest.mark.parametrize("key", sorted(REFERENCE["robustness"]))
def test_semantic_robustness_wer_equals_fmeval(key):
    kind, model = key.split("/")
    for text, expected in REFERENCE["robustness"][key].items():
        run = Alternating() if model == "alternating" else (lambda ps: [_echo(p) for p in ps])
        metric = semantic_robustness_wer(run, perturbation_type=kind)
        result = metric.score_batch({"inputs": [text]})
        assert result.scores[0] == pytest.approx(expected, abs=1e-12)
        assert expected > 0
        assert ("baseline" in result.justifications[0]) == (model == "alternating")
