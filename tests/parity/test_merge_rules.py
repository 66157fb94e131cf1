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


@pytest.mark.parametrize(
    ("name", "options", "reference"),
    [
        ("bleu", {"tokenize": "13a"}, "corpus_bleu"),
        ("bleu", {}, None),  # auto: a tokenizer per row's language
        ("chrf", {}, "corpus_chrf"),
        ("chrf", {"word_order": 2}, "corpus_chrf"),
    ],
)
def test_sacrebleu_corpus_scores_merge_from_summed_statistics(
    name: str, options: dict[str, object], reference: str | None
) -> None:
    """The corpus score over batches (Spark partitions, scorer batches) is sacrebleu's corpus
    score of all the rows, exactly: recomputed from the summed segment statistics."""
    import sacrebleu

    from mlflow_llm_eval.core.registry import get_metric

    rng = random.Random(name + str(options))
    words = "the cat dog sat on mat a big red 我 爱 北京 東京 です 한국 어 Москва".split()
    rows = [
        (" ".join(rng.choices(words, k=rng.randint(1, 12))), " ".join(rng.choices(words, k=6)))
        for _ in range(60)
    ]
    predictions, targets = [p for p, _ in rows], [t for _, t in rows]
    metric = get_metric(name, **options)
    whole = metric.score_batch({"predictions": predictions, "targets": targets})
    if reference is not None:
        kwargs = {"word_order": options.get("word_order", 0)} if name == "chrf" else {}
        expected = getattr(sacrebleu, reference)(predictions, [targets], **kwargs).score
        assert whole.extra_aggregates["corpus"] == expected
    cuts = sorted(rng.sample(range(1, 60), 4))
    parts = [
        batch_part(metric.score_batch({"predictions": predictions[a:b], "targets": targets[a:b]}))
        for a, b in zip([0, *cuts], [*cuts, 60])
    ]
    merged = public(merge_extra_aggregates(metric, parts))
    assert merged == {"corpus": whole.extra_aggregates["corpus"]}
