"""Which logged model and which dataset an evaluation's metrics belong to (MLflow 3 linkage).

MLflow 3's default evaluator logs every metric as ``Metric(key, value, timestamp, 0,
model_id=..., dataset_name=dataset.name, dataset_digest=dataset.digest, run_id=run_id)``, so on
the LoggedModel page each metric says which dataset it was measured on. The doors log theirs the
same way through :func:`metric_entities`. Guarded by feature, not by version: a field the
installed MLflow's ``Metric`` does not take is left out, and a dataset without both a name and a
digest links no dataset (MLflow refuses one without the other).

    >>> from types import SimpleNamespace
    >>> link = MetricLink.of(SimpleNamespace(name="qa", digest="1a2b3c4d"), "m-123")
    >>> link
    MetricLink(model_id='m-123', dataset_name='qa', dataset_digest='1a2b3c4d')
    >>> MetricLink.of(SimpleNamespace(name="qa", digest=None)).dataset_name is None
    True
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlflow_llm_eval.chat.schemes import is_endpoint_uri


@dataclass(frozen=True)
class MetricLink:
    """The logged model and the dataset a set of metrics was measured with (each may be None)."""

    model_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None

    @classmethod
    def of(cls, dataset: Any = None, model_id: str | None = None) -> MetricLink:
        """From an MLflow dataset (``EvaluationDataset``, ``PandasDataset``, ``SparkDataset``:
        anything with ``name`` and ``digest``) and a LoggedModel id."""
        name, digest = getattr(dataset, "name", None), getattr(dataset, "digest", None)
        if name is None or digest is None:
            name = digest = None
        return cls(
            model_id or None,
            None if name is None else str(name),
            None if digest is None else str(digest),
        )


@functools.cache
def _metric_fields() -> frozenset[str]:
    from mlflow.entities import Metric

    return frozenset(inspect.signature(Metric.__init__).parameters)


def metric_entities(
    values: Mapping[str, float],
    run_id: str,
    link: MetricLink | None = None,
    timestamp: int | None = None,
) -> list[Any]:
    """``mlflow.entities.Metric`` objects for ``values`` at step 0, carrying ``link`` and
    ``run_id`` where the installed MLflow's ``Metric`` takes them."""
    from mlflow.entities import Metric

    link = link or MetricLink()
    fields = {
        "model_id": link.model_id,
        "dataset_name": link.dataset_name,
        "dataset_digest": link.dataset_digest,
        "run_id": run_id,
    }
    extra = {k: v for k, v in fields.items() if v is not None and k in _metric_fields()}
    now = int(time.time() * 1000) if timestamp is None else timestamp
    return [Metric(key, float(value), now, 0, **extra) for key, value in values.items()]


def model_id_of(model: Any) -> str | None:
    """The LoggedModel id of a model: a loaded pyfunc's ``model_id``, or for a model URI the one
    its ``MLmodel`` records (``mlflow.models.get_model_info``); None for anything else (a
    callable, an endpoint, MLflow before 3, a model logged without one)."""
    if isinstance(model, str):
        if is_endpoint_uri(model):
            return None
        try:
            from mlflow.models import get_model_info

            return getattr(get_model_info(model), "model_id", None) or None
        except Exception:  # noqa: BLE001 - a link is a description, never a reason to fail
            return None
    return getattr(model, "model_id", None) or None
