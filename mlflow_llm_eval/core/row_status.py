"""Row statuses the doors report beyond a metric's own: the model under test's failures
(:func:`~mlflow_llm_eval.core.model_failures.mark_model_failures`) and the
warning for rows left unscored (:func:`warn_unscored`). Applied by
:func:`~mlflow_llm_eval.core.engine.score_planned`, for every door that scores a table with it.
No MLflow here.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence

from mlflow_llm_eval.core.types import SCORED_STATUSES, Metric, MetricResult

_logger = logging.getLogger(__name__)


def warn_unscored(results: Mapping[str, MetricResult], metrics: Sequence[Metric]) -> None:
    """One warning per metric that left rows unscored, with the count of each status."""
    for metric in metrics:
        counts = Counter(s for s in results[metric.key].statuses if s not in SCORED_STATUSES)
        if counts:
            _logger.warning(
                "llm_eval: %s left %d row(s) unscored: %s (see the '%s/status' and '/reason' "
                "columns of the eval_results_table)",
                metric.key,
                sum(counts.values()),
                dict(counts),
                metric.key,
            )
