"""Extra aggregates merged over batches equal those of one batch (no Spark, no MLflow run).

classification_accuracy's ``balanced_accuracy``, ``precision`` and ``recall`` are recomputed
from the summed (target, label) counts; the reference is scikit-learn over all the rows (the
metric's one-batch values, checked against FMEval in tests/fmeval).
"""

from __future__ import annotations

import random

import pytest

from mlflow_llm_eval.core.engine import metric_aggregates
from mlflow_llm_eval.core.merge import batch_part, merge_extra_aggregates, public
from mlflow_llm_eval.core.types import COUNTS_PREFIX
from mlflow_llm_eval.fmeval.classification_accuracy import classification_accuracy


@pytest.mark.parametrize("average", ["micro", "macro", "weighted", "binary"])
def test_classification_aggregates_merge_from_counts(average: str) -> None:
    rng = random.Random(average)
    for _ in range(40):
        labels = ["pos", "neg", "mixed"][: rng.randint(2, 3)]
        metric = classification_accuracy(
            valid_labels=labels, multiclass_average_strategy=average, pos_label="pos"
        )
        n = rng.randint(2, 30)
        predictions = [rng.choice([*labels, "no idea", None]) for _ in range(n)]
        targets = [rng.choice(labels) for _ in range(n)]
        whole = metric.score_batch({"predictions": predictions, "targets": targets})
        cuts = sorted(rng.sample(range(1, n), rng.randint(1, min(4, n - 1))))
        bounds = [0, *cuts, n]
        parts = [
            batch_part(
                metric.score_batch({"predictions": predictions[a:b], "targets": targets[a:b]})
            )
            for a, b in zip(bounds, bounds[1:])
        ]
        merged = public(merge_extra_aggregates(metric, parts))
        expected = public(whole.extra_aggregates)
        assert set(expected) == {"balanced_accuracy", "precision", "recall"}
        assert merged == pytest.approx(expected, abs=1e-12)


def test_counts_are_merged_but_never_logged() -> None:
    metric = classification_accuracy(valid_labels=["a", "b"])
    result = metric.score_batch({"predictions": ["a", "b", "b"], "targets": ["a", "a", "b"]})
    assert any(k.startswith(COUNTS_PREFIX) for k in result.extra_aggregates)
    logged = metric_aggregates(metric, result)
    assert logged["classification_accuracy/v1/balanced_accuracy"] == pytest.approx(0.75)
    assert not any(COUNTS_PREFIX in k for k in logged)
