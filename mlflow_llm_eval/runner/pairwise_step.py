"""The ``compare: {pairwise: ...}`` step of the multi-model runner.

:func:`build_judge` makes the pairwise judge from the config before any model runs (a missing
judge model or key fails the run at once, naming the key). :func:`run_step` runs after every
model is scored: it takes each successful model's answers from its per-row table (the rows are
the dataset's, in order), judges every pair of models on every row in both orders
(:mod:`mlflow_llm_eval.judge.pairwise`), and logs to the parent run:

- run metrics ``<name>/...`` (``name`` defaults to ``pairwise``): ``consistency_rate``,
  ``first_position_rate``, ``tie_rate``, ``pairs_scored``/``pairs_unscored``, per model
  ``<model>/win_rate`` and ``<model>/bt_rating`` with ``_ci_low``/``_ci_high``, per pair
  ``<a>_vs_<b>/wins_a``, ``wins_b``, ``ties``, ``consistency_rate``, and the judge accounting;
- ``llm_eval/pairwise.json``: the judge, the summaries, the method and every pair's verdicts.

A failure of the step (a model without answers, an endpoint down) never fails the comparison:
the reason goes to the ``llm_eval.pairwise_error`` tag.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from mlflow_llm_eval.config.loader import LoadedConfig
from mlflow_llm_eval.judge.pairwise import PairwiseJudge, pairwise_preference
from mlflow_llm_eval.judge.pairwise_result import PairwiseResult
from mlflow_llm_eval.runner import tracking

_logger = logging.getLogger(__name__)
ARTIFACT = "llm_eval/pairwise.json"
PREDICTION_COLUMNS = (
    "model_outputs",
    "outputs",
    "model_predictions",
    "predictions",
)  # the evaluator's names, in that order


def build_judge(loaded: LoadedConfig) -> PairwiseJudge | None:
    """The configured pairwise judge, or None; raises ConfigError for a bad ``compare.pairwise``."""
    cfg = loaded.config
    spec = cfg.compare.pairwise if cfg.compare is not None else None
    if spec is None:
        return None
    options = spec.judge_options(cfg.judge.options if cfg.judge is not None else None)
    if not options.get("model"):
        raise loaded.error(
            ("compare", "pairwise"),
            "the pairwise judge needs a model: set compare.pairwise.model or judge.model",
        )
    try:
        return pairwise_preference(**options)
    except (TypeError, ValueError) as exc:
        raise loaded.error(("compare", "pairwise"), str(exc)) from None


def _inputs(table: Any, columns: list[str]) -> list[str] | None:
    if not columns or any(c not in table.columns for c in columns):
        return None
    if len(columns) == 1:
        return table[columns[0]].tolist()
    return [
        "\n".join(f"{c}: {v}" for c, v in zip(columns, values))
        for values in zip(*(table[c].tolist() for c in columns))
    ]


def answers(outcomes: list[Any], rows: int) -> tuple[dict[str, list[Any]], dict[str, str]]:
    """Each model's answers from its table (by the evaluator's prediction column), and why a
    model is left out."""
    found: dict[str, list[Any]] = {}
    skipped: dict[str, str] = {}
    for outcome in outcomes:
        table = outcome.table
        if not outcome.ok or table is None:
            skipped[outcome.name] = "its evaluation failed"
            continue
        column = next((c for c in PREDICTION_COLUMNS if c in table.columns), None)
        if column is None or len(table) != rows:
            skipped[outcome.name] = "its table has no prediction column for every row"
            continue
        found[outcome.name] = table[column].tolist()
    return found, skipped


def run_step(
    judge: PairwiseJudge | None,
    parent_run_id: str,
    input_columns: list[str],
    outcomes: list[Any],
    rows: int,
) -> PairwiseResult | None:
    """Judge the models' answers pairwise and log the results to the parent run (never raises)."""
    if judge is None:
        return None
    try:
        outputs, skipped = answers(outcomes, rows)
        for name, why in skipped.items():
            _logger.warning("pairwise judge: model %s left out: %s", name, why)
        if len(outputs) < 2:
            raise ValueError(f"fewer than two models have answers ({', '.join(outputs) or 'none'})")
        table = next(o.table for o in outcomes if o.name in outputs)
        inputs = _inputs(table, input_columns) if judge.include_input else None
        if judge.include_input and inputs is None:
            raise ValueError(f"the input columns {input_columns} are not in the models' tables")
        result = judge.compare(outputs, inputs)
        tracking.log_metrics(parent_run_id, result.metrics())
        tracking.log_text(
            parent_run_id, json.dumps(result.to_json(), indent=1, default=str), ARTIFACT
        )
        tracking.set_tags(parent_run_id, {f"{tracking.TAG_PREFIX}pairwise_judge": judge.model})
        return result
    except Exception as exc:  # noqa: BLE001 - the comparison stays valid without this step
        reason = tracking.redact(f"{type(exc).__name__}: {exc}")[:2000]
        _logger.warning("pairwise judge step failed: %s", reason)
        tracking.set_tags(parent_run_id, {f"{tracking.TAG_PREFIX}pairwise_error": reason})
        return None
