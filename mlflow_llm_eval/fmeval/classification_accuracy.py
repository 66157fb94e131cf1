"""classification_accuracy: FMEval's ``ClassificationAccuracy`` on free-text model outputs.

Each output is first turned into a label by a converter. FMEval's default,
:func:`convert_model_output_to_label`, splits the output on single spaces and returns the first
word that equals a valid label (both lower-cased and stripped), else ``"unknown"``. The row
scores 1.0 when that label equals ``str(target)`` — FMEval does not lower-case the target, so
keep labels lower-case or pass ``ignore_target_case=True``. Valid labels default to the distinct
targets of the scored rows, as in FMEval's ``evaluate``.

Dataset-level scores (scikit-learn, as FMEval) are logged as extra aggregates of the metric:
``balanced_accuracy``, ``precision`` and ``recall`` (``average="micro"`` by default), e.g. the
run metric ``classification_accuracy/v1/balanced_accuracy``. Each batch also gives its
(target, predicted label) counts (``_counts/...``, not logged), so over several batches (Spark
partitions, MLflow 3 scorer batches) the three are recomputed from the summed counts
(:meth:`ClassificationAccuracy.aggregates_from_counts`) and equal one batch's values.

    >>> m = classification_accuracy(valid_labels=["positive", "negative"])
    >>> r = m.score_batch({"predictions": ["The answer is positive", "negative.", "Negative"],
    ...                    "targets": ["positive", "negative", "negative"]})
    >>> r.scores, r.justifications[1]
    ([1.0, 0.0, 1.0], "predicted label 'unknown' (target 'negative')")
    >>> round(r.extra_aggregates["balanced_accuracy"], 3)
    0.75
    >>> convert_model_output_to_label("I think 2, maybe 3", ["1", "2"])
    'unknown'
"""

from __future__ import annotations

import json
import warnings
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mlflow_llm_eval.core.text import check_text
from mlflow_llm_eval.core.types import (
    COUNTS_PREFIX,
    FROM_COUNTS,
    REQUEST_ACCOUNTING,
    SUM,
    Metric,
    MetricResult,
    RowBatch,
    RowScore,
)
from mlflow_llm_eval.fmeval._common import label_text

UNKNOWN_LABEL = "unknown"
AVERAGES = ("micro", "macro", "weighted", "binary")
Converter = Callable[[str, list[str]], str]


def convert_model_output_to_label(model_output: str, valid_labels: list[str]) -> str:
    """FMEval's default converter: the first space-separated word that is a valid label."""
    labels = [label.lower().strip() for label in valid_labels]
    words = [word.lower().strip() for word in model_output.split(" ")]
    return next((word for word in words if word in labels), UNKNOWN_LABEL)


def dataset_scores(
    y_true: Sequence[str], y_pred: Sequence[str], average: str, pos_label: str | None
) -> dict[str, float]:
    """balanced accuracy, precision and recall with scikit-learn, as FMEval computes them."""
    from sklearn.metrics import balanced_accuracy_score, precision_score, recall_score

    # "binary" is the positive class's own precision/recall; asked as average=None over that one
    # label, it also works when "unknown" makes a third class (where average="binary" raises).
    options: dict[str, Any] = (
        {"average": None, "labels": [pos_label]} if average == "binary" else {"average": average}
    )
    with warnings.catch_warnings():  # ill-defined precision/recall -> 0.0, as FMEval gets
        warnings.simplefilter("ignore")
        precision = precision_score(y_true, y_pred, **options)
        recall = recall_score(y_true, y_pred, **options)
        return {
            "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
            "precision": float(precision[0] if average == "binary" else precision),
            "recall": float(recall[0] if average == "binary" else recall),
        }


class ClassificationAccuracy(Metric):
    """Per-row correctness of the converted label, plus dataset-level sklearn scores."""

    name = "classification_accuracy"
    value_kind = "binary"
    version = "v1"
    greater_is_better = True
    requires = ("predictions", "targets")
    headline_aggregation = "mean"
    aggregate_merges = {
        **REQUEST_ACCOUNTING,
        f"{COUNTS_PREFIX}*": SUM,
        **{name: FROM_COUNTS for name in ("balanced_accuracy", "precision", "recall")},
    }

    def __init__(
        self,
        *,
        valid_labels: Sequence[Any] | None = None,
        converter_fn: Converter = convert_model_output_to_label,
        multiclass_average_strategy: str = "micro",
        pos_label: Any = None,
        ignore_target_case: bool = False,
    ) -> None:
        if valid_labels is not None:
            labels = [label_text(v) for v in valid_labels]
            if not labels or any(v is None for v in labels):
                raise ValueError(
                    f"valid_labels must be a non-empty list of strings or integers, "
                    f"got {valid_labels!r}"
                )
            self.valid_labels: list[str] | None = labels  # type: ignore[assignment]
        else:
            self.valid_labels = None
        if not callable(converter_fn):
            raise TypeError("converter_fn must be a callable (model_output, valid_labels) -> label")
        if multiclass_average_strategy not in AVERAGES:
            raise ValueError(
                f"multiclass_average_strategy must be one of {AVERAGES}, "
                f"got {multiclass_average_strategy!r}"
            )
        if multiclass_average_strategy == "binary" and label_text(pos_label) is None:
            raise ValueError(
                "multiclass_average_strategy='binary' needs pos_label (the positive class)"
            )
        self.converter_fn = converter_fn
        self.average = multiclass_average_strategy
        self.pos_label = label_text(pos_label) if pos_label is not None else None
        self.ignore_target_case = bool(ignore_target_case)
        self.description = (
            "1 if the label extracted from the output equals the target, else 0; "
            f"balanced_accuracy/precision/recall ({self.average}) over the dataset "
            "(FMEval ClassificationAccuracy)"
        )

    def _target(self, value: Any) -> tuple[str | None, RowScore | None]:
        text = label_text(value)
        if text is None:
            checked = check_text(value, column="targets")
            return None, checked.unscored or RowScore.unscored("not_text", "targets is not a label")
        if not text.strip():
            return None, RowScore.unscored("empty", "targets is an empty string")
        return (text.lower() if self.ignore_target_case else text), None

    def score_batch(self, rows: RowBatch) -> MetricResult:
        predictions, raw_targets = rows["predictions"], rows["targets"]
        targets = [self._target(v) for v in raw_targets]
        labels = self.valid_labels or sorted(
            {t for t, bad in targets if bad is None and t is not None}
        )
        results: list[RowScore] = []
        y_true: list[str] = []
        y_pred: list[str] = []
        for prediction, (target, bad) in zip(predictions, targets, strict=True):
            checked = check_text(prediction, column="predictions", allow_empty=True)
            if checked.unscored is not None or bad is not None:
                results.append(checked.unscored or bad)  # type: ignore[arg-type]
                continue
            label = str(self.converter_fn(checked.text, list(labels)))  # type: ignore[arg-type]
            y_true.append(target)  # type: ignore[arg-type]
            y_pred.append(label)
            results.append(
                RowScore.ok(
                    float(label == target), f"predicted label {label!r} (target {target!r})"
                )
            )
        extra = dataset_scores(y_true, y_pred, self.average, self.pos_label) if y_true else {}
        for pair, n in Counter(zip(y_true, y_pred)).items():
            extra[COUNTS_PREFIX + json.dumps(pair)] = float(n)
        return MetricResult.from_rows(results, extra)

    def aggregates_from_counts(self, counts: Mapping[str, float]) -> dict[str, float]:
        """balanced accuracy, precision and recall from (target, label) counts, as
        :func:`dataset_scores` computes them from the rows (scikit-learn's definitions: an
        undefined ratio is 0; balanced accuracy averages the recall of the targets' classes).

            >>> m = classification_accuracy(multiclass_average_strategy="macro")
            >>> counts = {'_counts/["a", "a"]': 2, '_counts/["b", "a"]': 1, '_counts/["b", "b"]': 1}
            >>> m.aggregates_from_counts(counts)
            {'balanced_accuracy': 0.75, 'precision': 0.8333333333333333, 'recall': 0.75}
        """
        pairs = Counter[tuple[str, str]]()
        for name, n in counts.items():
            true, pred = json.loads(name[len(COUNTS_PREFIX) :])
            pairs[(true, pred)] += int(n)
        if not pairs:
            return {}
        hits, true_n, pred_n = Counter[str](), Counter[str](), Counter[str]()
        for (true, pred), n in pairs.items():
            true_n[true] += n
            pred_n[pred] += n
            hits[true] += n if true == pred else 0
        labels = sorted(set(true_n) | set(pred_n))
        if self.average == "binary":
            labels = [str(self.pos_label)]
        precision = {c: hits[c] / pred_n[c] if pred_n[c] else 0.0 for c in labels}
        recall = {c: hits[c] / true_n[c] if true_n[c] else 0.0 for c in labels}
        total = sum(true_n.values())
        if self.average == "micro":
            p = r = sum(hits.values()) / total
        elif self.average == "weighted":
            p = sum(true_n[c] * precision[c] for c in labels) / total
            r = sum(true_n[c] * recall[c] for c in labels) / total
        else:  # macro; binary: the one positive label
            p = sum(precision.values()) / len(labels)
            r = sum(recall.values()) / len(labels)
        balanced = [hits[c] / true_n[c] for c in sorted(true_n)]
        return {
            "balanced_accuracy": sum(balanced) / len(balanced),
            "precision": float(p),
            "recall": float(r),
        }


def classification_accuracy(
    *,
    valid_labels: Sequence[Any] | None = None,
    converter_fn: Converter = convert_model_output_to_label,
    multiclass_average_strategy: str = "micro",
    pos_label: Any = None,
    ignore_target_case: bool = False,
) -> ClassificationAccuracy:
    """FMEval classification accuracy (+ balanced accuracy, precision, recall aggregates)."""
    return ClassificationAccuracy(
        valid_labels=valid_labels,
        converter_fn=converter_fn,
        multiclass_average_strategy=multiclass_average_strategy,
        pos_label=pos_label,
        ignore_target_case=ignore_target_case,
    )


METRICS = {"classification_accuracy": classification_accuracy}
