"""Retriever metrics over lists of document ids: MLflow's ``precision_at_k``, ``recall_at_k``,
``ndcg_at_k`` (same numbers, keys and columns as its default evaluator) plus ``mrr_at_k`` and
``hit_rate_at_k``.

``predictions`` holds the retrieved ids in rank order and ``targets`` the relevant ids, each a
list (or tuple, or numpy array) of strings or ints. MLflow names the metrics without a version,
so the run metrics are ``precision_at_3/mean`` and the table column ``precision_at_3/score``;
ours are versioned: ``mrr_at_3/v1/mean``, ``hit_rate_at_3/v1/mean``.

    >>> rows = {"predictions": [["doc1", "doc3", "doc2"]], "targets": [["doc1", "doc2"]]}
    >>> precision_at_k(3).score_batch(rows).scores
    [0.6666666666666666]
    >>> recall_at_k(3).score_batch(rows).scores
    [1.0]
    >>> round(ndcg_at_k(3).score_batch(rows).scores[0], 10)
    0.9197207891
    >>> mrr_at_k(3).score_batch({"predictions": [["x", "b"]], "targets": [["b"]]}).scores
    [0.5]
    >>> hit_rate_at_k(1).score_batch({"predictions": [["x", "b"]], "targets": [["b"]]}).scores
    [0.0]

A cell that is not a list of ids is ``malformed`` (``None``: ``missing``) for that row only;
MLflow instead skips the whole metric. Empty lists follow MLflow's conventions (see each class).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from mlflow_llm_eval.core.text import is_missing
from mlflow_llm_eval.core.types import Metric, MetricResult, RowBatch, RowScore, Status

_LOG2 = math.log(2)


def _discount(i: int) -> float:
    """sklearn's ``ndcg_score`` discount of rank ``i`` (0-based), computed the same way."""
    return 1.0 / (math.log(i + 2) / _LOG2)


def as_ids(value: Any, column: str) -> list[Any] | RowScore:
    """``value`` as a list of ids, or the unscored row saying why it is not one.

    >>> as_ids(("a", 2), "targets")
    ['a', 2]
    >>> as_ids("doc1", "predictions").status
    'malformed'
    """
    if value is None or (not hasattr(value, "__len__") and is_missing(value)):
        return RowScore.unscored(Status.MISSING, f"{column} is missing (None/NaN)")
    if isinstance(value, (list, tuple)):
        ids = list(value)
    elif type(value).__name__ == "ndarray" and getattr(value, "ndim", 0) == 1:
        ids = value.tolist()
    else:
        return RowScore.unscored(
            Status.MALFORMED, f"{column} is a {type(value).__name__}, not a list of ids"
        )
    for doc_id in ids:
        if not isinstance(doc_id, (str, int)) or isinstance(doc_id, bool):
            return RowScore.unscored(
                Status.MALFORMED,
                f"{column} holds a {type(doc_id).__name__} id; ids are strings or ints",
            )
    return ids


def precision_row(retrieved: list[Any], relevant: list[Any], k: int) -> float:
    """Relevant ids among the top ``min(k, len(retrieved))``, over that count; 0 if none retrieved."""
    top = retrieved[:k]
    if not top:
        return 0.0
    truth = set(relevant)
    return sum(1 for doc in top if doc in truth) / len(top)


def recall_row(retrieved: list[Any], relevant: list[Any], k: int) -> float:
    """Unique relevant ids in the top ``k`` over all relevant ids (no relevant: 1 if none retrieved)."""
    truth = set(relevant)
    if truth:
        return len(truth.intersection(retrieved[:k])) / len(truth)
    return 1.0 if not retrieved[:k] else 0.0


def ndcg_row(retrieved: list[Any], relevant: list[Any], k: int) -> float:
    """Binary-relevance NDCG of the top ``k`` as MLflow computes it with sklearn's ``ndcg_score``.

    A duplicate retrieved id that is relevant counts as one more relevant document (MLflow
    expands duplicates into distinct ids); both lists empty -> 1, one of them empty -> 0.
    """
    if not retrieved and not relevant:
        return 1.0
    if not retrieved or not relevant:
        return 0.0
    truth = set(relevant)
    top = retrieved[:k]
    gains: list[float] = []
    extra_relevant = 0
    seen: set[Any] = set()
    for doc in top:
        hit = doc in truth
        gains.append(1.0 if hit else 0.0)
        if hit and doc in seen:
            extra_relevant += 1
        seen.add(doc)
    n_relevant = len(truth) + extra_relevant
    dcg = 0.0
    for i, gain in enumerate(gains):
        dcg += _discount(i) * gain
    if dcg == 0.0:
        return 0.0
    ideal = 0.0
    for i in range(min(len(top), n_relevant)):
        ideal += _discount(i)
    return dcg / ideal


def reciprocal_rank_row(retrieved: list[Any], relevant: list[Any], k: int) -> float:
    """1 / rank of the first relevant id in the top ``k``; 0 if there is none."""
    truth = set(relevant)
    for i, doc in enumerate(retrieved[:k]):
        if doc in truth:
            return 1.0 / (i + 1)
    return 0.0


def hit_row(retrieved: list[Any], relevant: list[Any], k: int) -> float:
    """1 if any relevant id is in the top ``k``, else 0."""
    truth = set(relevant)
    return float(any(doc in truth for doc in retrieved[:k]))


class RetrievalMetric(Metric):
    """A rank metric over (retrieved ids, relevant ids) per row, cut at ``k``."""

    base_name: str
    version: str | None = None
    greater_is_better = True
    requires = ("predictions", "targets")
    value_kind = "bounded"
    value_range = (0.0, 1.0)
    #: Whether a row without relevant ids is scored (MLflow's three are; mrr/hit_rate are not).
    scores_no_relevant = True
    row_function: Callable[[list[Any], list[Any], int], float]

    def __init__(self, k: int = 3) -> None:
        if isinstance(k, bool) or not isinstance(k, int) or k <= 0:
            raise ValueError(f"{self.base_name}: k must be a positive integer, got {k!r}")
        self.k = k
        self.name = f"{self.base_name}_at_{k}"

    def score_batch(self, rows: RowBatch) -> MetricResult:
        function, k = type(self).row_function, self.k
        out: list[RowScore] = []
        for predicted, expected in zip(rows["predictions"], rows["targets"], strict=True):
            retrieved = as_ids(predicted, "predictions")
            if isinstance(retrieved, RowScore):
                out.append(retrieved)
                continue
            relevant = as_ids(expected, "targets")
            if isinstance(relevant, RowScore):
                out.append(relevant)
            elif not relevant and not self.scores_no_relevant:
                out.append(
                    RowScore.unscored(
                        Status.EMPTY, f"targets is an empty list: {self.name} needs relevant ids"
                    )
                )
            else:
                out.append(RowScore(function(retrieved, relevant, k)))
        return MetricResult.from_rows(out)

    def metadata(self) -> dict[str, Any]:
        return {**super().metadata(), "k": self.k}


class PrecisionAtK(RetrievalMetric):
    base_name = "precision"
    description = "share of the top-k retrieved ids that are relevant (MLflow precision_at_k)"
    row_function = staticmethod(precision_row)


class RecallAtK(RetrievalMetric):
    base_name = "recall"
    description = "share of the relevant ids found in the top k (MLflow recall_at_k)"
    row_function = staticmethod(recall_row)


class NdcgAtK(RetrievalMetric):
    base_name = "ndcg"
    description = "binary-relevance NDCG of the top k retrieved ids (MLflow ndcg_at_k)"
    row_function = staticmethod(ndcg_row)


class MrrAtK(RetrievalMetric):
    base_name = "mrr"
    version = "v1"  # ours (MLflow has none): versioned like every metric of the pack
    description = "reciprocal rank of the first relevant id in the top k (0 if none)"
    row_function = staticmethod(reciprocal_rank_row)
    scores_no_relevant = False


class HitRateAtK(RetrievalMetric):
    base_name = "hit_rate"
    version = "v1"
    value_kind = "binary"
    description = "1 if any relevant id is in the top k, else 0"
    row_function = staticmethod(hit_row)
    scores_no_relevant = False


def precision_at_k(k: int = 3) -> PrecisionAtK:
    """MLflow's ``precision_at_k``: keys ``precision_at_<k>/mean`` etc."""
    return PrecisionAtK(k)


def recall_at_k(k: int = 3) -> RecallAtK:
    """MLflow's ``recall_at_k``."""
    return RecallAtK(k)


def ndcg_at_k(k: int = 3) -> NdcgAtK:
    """MLflow's ``ndcg_at_k``."""
    return NdcgAtK(k)


def mrr_at_k(k: int = 3) -> MrrAtK:
    """Mean reciprocal rank at ``k`` (per row: the reciprocal rank)."""
    return MrrAtK(k)


def hit_rate_at_k(k: int = 3) -> HitRateAtK:
    """Hit rate at ``k`` (per row: 1 if a relevant id is in the top ``k``)."""
    return HitRateAtK(k)


#: MLflow's retriever preset (``model_type="retriever"``), in its order.
RETRIEVER_PRESET: tuple[str, ...] = ("precision_at_k", "recall_at_k", "ndcg_at_k")

METRICS: dict[str, Callable[..., Metric]] = {
    "precision_at_k": precision_at_k,
    "recall_at_k": recall_at_k,
    "ndcg_at_k": ndcg_at_k,
    "mrr": mrr_at_k,
    "hit_rate": hit_rate_at_k,
}


def from_mlflow_name(name: str) -> Metric | None:
    """Ours for an MLflow retriever metric's name (``precision_at_4``), else ``None``.

    >>> from_mlflow_name("ndcg_at_5").key
    'ndcg_at_5'
    >>> from_mlflow_name("rouge1") is None
    True
    """
    for cls in (PrecisionAtK, RecallAtK, NdcgAtK):
        prefix = f"{cls.base_name}_at_"
        rest = name[len(prefix) :] if name.startswith(prefix) else ""
        if rest.isdigit() and int(rest) > 0:
            return cls(int(rest))
    return None
