"""Compute FMEval's own values on a shared set of rows; writes fmeval_reference.json beside it.

Run in a SEPARATE environment that has FMEval (never the project's .venv; FMEval pins
pandas 2.2, transformers<5, ray, sagemaker):

    python3 -m venv /tmp/fmeval-venv
    /tmp/fmeval-venv/bin/pip install /path/to/torch-2.13.0+cpu-*.whl   # CPU torch first
    /tmp/fmeval-venv/bin/pip install fmeval==1.2.3 "pyarrow<18" "datasets==2.21.0"
    /tmp/fmeval-venv/bin/python tests/fmeval/make_reference.py

(pyarrow<18 and datasets 2.21 because the resolver's newest pyarrow/datasets need numpy 2,
which FMEval's pins exclude.)

Offline, ``evaluate.load("bertscore" | "rouge" | "wer")`` cannot fetch its metric script from
the Hub, and FMEval calls it at import time. This script installs a stand-in loader *before*
importing FMEval: its ``wer`` does what evaluate's ``wer`` script does (jiwer
``compute_measures`` per pair, summed edits / summed reference words); ``bertscore`` and
``rouge`` raise if called (their values are checked in the tests against bert_score and
rouge_score directly). The robustness reference therefore records only the word error rate.
Everything else runs FMEval's own code: ``FactualKnowledgeScores``, ``QAAccuracyScores``,
``convert_model_output_to_label`` + ``ClassificationAccuracy._get_score`` (scikit-learn),
the perturbation transforms (a fresh transform per text, seed 5) and
``GeneralSemanticRobustness.evaluate_sample`` with two toy models.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).with_name("fmeval_reference.json")

QA_ROWS = [  # (model output, target output)
    ("Paris", "Paris"),
    ("  Paris ", "Paris"),
    ("paris", "Paris"),
    ("The Eiffel Tower.", "eiffel tower"),
    ("It is the Eiffel tower in Paris, France", "Eiffel Tower"),
    ("London", "UK<OR>England<OR>London"),
    ("I think it's England", "UK<OR>England"),
    ("Germany, and is also its most populous city", "Germany<OR>Berlin"),
    ("berlin", "Germany<OR>Berlin"),
    ("red and blue", "red<AND>yellow<AND>blue"),
    ("red, yellow and blue!", "red<AND>yellow<AND>blue"),
    ("an apple a day", "the apple"),
    ("a\tb\nc", "a b c"),
    ("U.S.A.", "usa"),
    ("the the the", "the"),
    ("", "Paris"),
    ("42", "forty-two<OR>42"),
    ("Café au lait", "café"),
    ("New  York   City", "new york city"),
    ("it's 3.14", "3.14"),
]

CLASSIFICATION_ROWS = [  # (model output, target)
    ("positive", "positive"),
    ("The answer is positive", "positive"),
    ("negative.", "negative"),
    ("Negative", "negative"),
    ("I would say neutral here", "neutral"),
    ("positive negative", "negative"),
    ("no idea", "positive"),
    ("NEUTRAL", "neutral"),
    ("negative", "positive"),
    ("neutral", "negative"),
    ("1", "1"),
    ("Answer: 0", "1"),
]
CLASSIFICATION_LABELS = ["positive", "negative", "neutral", "1", "0"]

PERTURBATION_TEXTS = [
    "A quick brown fox jumps over the lazy dog 10 times.",
    "What is the capital of France?",
    "Summarise: The meeting was moved to Tuesday; please bring the Q3 report.",
    "x",
]

ROBUSTNESS_INPUTS = [
    "A quick brown fox jumps over the lazy dog.",
    "Where is the Eiffel Tower located?",
    "Explain photosynthesis in one sentence please.",
]


def install_evaluate_stand_in() -> None:
    import evaluate
    import jiwer

    class Wer:
        def compute(self, predictions, references, concatenate_texts=False):
            incorrect = total = 0
            for prediction, reference in zip(predictions, references):
                m = jiwer.compute_measures(reference, prediction)
                incorrect += m["substitutions"] + m["deletions"] + m["insertions"]
                total += m["substitutions"] + m["deletions"] + m["hits"]
            return incorrect / total

    class NotHere:
        def __init__(self, name):
            self.name = name

        def compute(self, **kwargs):
            if self.name == "bertscore":  # the robustness pipeline needs a number; WER is kept
                return {"f1": [float("nan")] * len(kwargs["predictions"])}
            raise RuntimeError(f"{self.name} is not available offline")

    def load(name, *args, **kwargs):
        return Wer() if name == "wer" else NotHere(name)

    evaluate.load = load


def echo_words(prompt: str) -> str:
    """Deterministic toy model: each word reversed."""
    return " ".join(word[::-1] for word in prompt.split())


def main() -> None:
    install_evaluate_stand_in()
    from fmeval.eval_algorithms.classification_accuracy import (
        CLASSIFICATION_ACCURACY_SCORES_TO_FUNCS,
        ClassificationAccuracy,
        ClassificationAccuracyConfig,
        convert_model_output_to_label,
    )
    from fmeval.eval_algorithms.factual_knowledge import FactualKnowledgeScores
    from fmeval.eval_algorithms.general_semantic_robustness import (
        GeneralSemanticRobustness,
        GeneralSemanticRobustnessConfig,
    )
    from fmeval.eval_algorithms.qa_accuracy import QAAccuracyScores
    from fmeval.model_runners.model_runner import ModelRunner
    from fmeval.transforms.semantic_perturbations import (
        AddRemoveWhitespace,
        ButterFinger,
        RandomUppercase,
    )

    out: dict = {"fmeval_version": __import__("importlib.metadata").metadata.version("fmeval")}

    fk_or = FactualKnowledgeScores()
    fk_and = FactualKnowledgeScores(target_output_delimiter="<AND>", logical_operator="AND")
    qa = QAAccuracyScores()
    out["qa_rows"] = []
    for prediction, target in QA_ROWS:
        row = {"prediction": prediction, "target": target}
        record = fk_or({"target_output": target, "model_output": prediction})
        row["factual_knowledge"] = record["factual_knowledge"]
        row["factual_knowledge_quasi_exact"] = record["factual_knowledge_quasi_exact"]
        record = fk_and({"target_output": target, "model_output": prediction})
        row["factual_knowledge_and"] = record["factual_knowledge"]
        row["factual_knowledge_quasi_exact_and"] = record["factual_knowledge_quasi_exact"]
        record = qa({"target_output": target, "model_output": prediction})
        for key in (
            "exact_match_score",
            "quasi_exact_match_score",
            "f1_score",
            "precision_over_words",
            "recall_over_words",
        ):
            row[key] = record[key]
        out["qa_rows"].append(row)

    algorithm = ClassificationAccuracy(
        ClassificationAccuracyConfig(valid_labels=CLASSIFICATION_LABELS)
    )
    predicted = [
        convert_model_output_to_label(p, CLASSIFICATION_LABELS) for p, _ in CLASSIFICATION_ROWS
    ]
    targets = [t for _, t in CLASSIFICATION_ROWS]
    out["classification"] = {
        "valid_labels": CLASSIFICATION_LABELS,
        "rows": [
            {"prediction": p, "target": t, "label": label, "score": int(label == str(t))}
            for (p, t), label in zip(CLASSIFICATION_ROWS, predicted)
        ],
        "dataset": {
            name: float(algorithm._get_score(targets, predicted, fn))
            for name, fn in CLASSIFICATION_ACCURACY_SCORES_TO_FUNCS.items()
        },
    }

    transforms = {
        "butter_finger": lambda: ButterFinger("text", [f"p{i}" for i in range(5)]),
        "random_upper_case": lambda: RandomUppercase("text", [f"p{i}" for i in range(5)]),
        "whitespace_add_remove": lambda: AddRemoveWhitespace("text", [f"p{i}" for i in range(5)]),
    }
    out["perturbations"] = {
        kind: {text: make().perturb(text) for text in PERTURBATION_TEXTS}
        for kind, make in transforms.items()
    }

    class Deterministic(ModelRunner):
        def __init__(self):
            pass

        def predict(self, prompt):
            return echo_words(prompt), None

    class Alternating(ModelRunner):
        """Non-deterministic toy: every second call for the same prompt appends a word."""

        def __init__(self):
            self.calls: dict[str, int] = {}

        def predict(self, prompt):
            n = self.calls[prompt] = self.calls.get(prompt, 0) + 1
            return echo_words(prompt) + (" again" if n % 2 == 0 else ""), None

    out["robustness"] = {}
    for kind in transforms:
        for model_name, make_model in (
            ("deterministic", Deterministic),
            ("alternating", Alternating),
        ):
            values = []
            for text in ROBUSTNESS_INPUTS:  # a fresh algorithm per row: perturbation seed 5 each
                gsr = GeneralSemanticRobustness(
                    GeneralSemanticRobustnessConfig(perturbation_type=kind)
                )
                scores = gsr.evaluate_sample(text, make_model())
                values.append({s.name: s.value for s in scores}["word_error_rate"])
            out["robustness"][f"{kind}/{model_name}"] = dict(zip(ROBUSTNESS_INPUTS, values))

    OUT.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
