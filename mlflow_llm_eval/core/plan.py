"""The evaluation plan: what to compute, in what order, under which names, decided once.

Every door builds one :class:`EvaluationPlan` from the metrics (MLflow metrics already adapted
by the classic door's wrapper), the model type, every ``evaluator_config`` key and the data's
columns, then only translates in and out: the classic door (``mlflow.evaluate``), the Spark
partitions, the MLflow 3 scorers and ``evaluate_sample``. The plan holds

- the validated config (:class:`~mlflow_llm_eval.core.evaluator_config.EvaluatorConfig`:
  ``col_mapping``, ``model_input``, ``metric_prefix``, ``human_labels``, make_metric
  parameters);
- the preset of the model type and the preset metrics dropped for want of targets (``skipped``);
- the metrics in dependency order, each with its logical -> data column mapping (every missing
  column of every metric in one :class:`MissingColumnError`);
- the table layout (:meth:`EvaluationPlan.layout`: column names and types) and the run-metric
  names (``metric_prefix`` applied by :meth:`EvaluationPlan.prefixed`);
- ``group_by`` (extra per-group aggregates: data, see docs/doors.md); how each extra aggregate
  merges over batches is :mod:`mlflow_llm_eval.core.merge`.

No MLflow, no Spark here.

    >>> from mlflow_llm_eval.function_metrics.exact_match import exact_match
    >>> plan = build_plan([exact_match()], columns=["q", "out", "gold"],
    ...                   evaluator_config={"col_mapping": {"predictions": "out",
    ...                                     "targets": "gold"}, "metric_prefix": "dev_"})
    >>> plan.steps[0].columns, plan.prefixed("exact_match/v1/mean")
    ({'predictions': 'out', 'targets': 'gold'}, 'dev_exact_match/v1/mean')
    >>> [name for name, _ in plan.layout()][:2]
    ['dev_exact_match/v1/score', 'dev_exact_match/v1/justification']
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlflow_llm_eval.core.evaluator_config import EvaluatorConfig, retriever_k
from mlflow_llm_eval.core.types import Metric

_logger = logging.getLogger(__name__)

#: The per-metric table columns, in order (score, justification, status, reason).
SUFFIXES = ("score", "justification", "status", "reason")
#: Column types of the table layout (Spark SQL / Arrow names).
DOUBLE, LONG, STRING = "double", "long", "string"


class MissingColumnError(KeyError):
    """A metric needs a column the data does not have."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


def select_metrics(
    model_type: str | None,
    extras: Sequence[Metric],
    evaluator_config: Mapping[str, Any] | None = None,
) -> tuple[list[Metric], frozenset[str]]:
    """The preset of ``model_type`` plus ``extras``, and the preset's keys.

    MLflow's ``retriever`` preset takes ``k`` from ``evaluator_config["retriever_k"]`` (3).

    An extra metric with a preset metric's key replaces it (the user's configured instance
    wins); preset metrics come first, as in MLflow. A new model type is a new preset in
    :data:`mlflow_llm_eval.core.registry.PRESETS`: the plan carries it as data.
    """
    from mlflow_llm_eval.core.registry import preset_metrics

    extra_keys = {m.key for m in extras}
    options = {"k": retriever_k(evaluator_config)} if model_type == "retriever" else {}
    preset = [m for m in preset_metrics(model_type, **options) if m.key not in extra_keys]
    if not preset + list(extras):
        raise ValueError("no metrics to compute: give a model_type with a preset or extra_metrics")
    return preset + list(extras), frozenset(m.key for m in preset)


@dataclass(frozen=True)
class Step:
    """One metric of the plan (planned against the data) and where its logical columns are."""

    metric: Metric
    columns: dict[str, str]


@dataclass
class EvaluationPlan:
    """What every door computes (see the module docstring); build it with :func:`build_plan`."""

    steps: list[Step]
    config: EvaluatorConfig = field(default_factory=EvaluatorConfig)
    model_type: str | None = None
    preset_keys: frozenset[str] = frozenset()
    #: Preset metrics left out (no targets): ``{"metric": key, "reason": ...}``.
    skipped: list[dict[str, str]] = field(default_factory=list)
    #: Logical column -> data column used when ``col_mapping`` does not say.
    defaults: dict[str, str] = field(default_factory=dict)
    #: Extra per-group aggregates: aggregate name -> column to group by (issue 19 hook).
    group_by: dict[str, str] = field(default_factory=dict)

    @property
    def metrics(self) -> list[Metric]:
        return [s.metric for s in self.steps]

    def prefixed(self, name: str) -> str:
        """A run-metric key or metric table column with ``metric_prefix``, as MLflow applies it."""
        return f"{self.config.metric_prefix}{name}"

    def column(self, metric: Metric, suffix: str) -> str:
        """The table column of ``metric``'s ``suffix`` (``score``: the score column's name)."""
        return self.prefixed(metric.score_column if suffix == "score" else f"{metric.key}/{suffix}")

    def layout(self) -> list[tuple[str, str]]:
        """The metric columns of the full table and their types (the Spark schema; the
        classic table keeps a justification / reason column only when one is set)."""
        out = []
        for metric in self.metrics:
            for suffix in SUFFIXES:
                kind = (LONG if metric.integer_scores else DOUBLE) if suffix == "score" else STRING
                out.append((self.column(metric, suffix), kind))
        return out

    def human_label_columns(self) -> dict[str, tuple[Metric, str]]:
        """Judge key -> (its metric, the column of human labels)."""
        by_name = {m.name: m for m in self.metrics}
        return {by_name[n].key: (by_name[n], c) for n, c in self.config.human_labels.items()}

    def agreement_columns(self) -> list[str]:
        """The table columns judge-human agreement reads: each judge's score and its labels."""
        pairs = self.human_label_columns().values()
        return sorted({c for m, label in pairs for c in (self.column(m, "score"), label)})

    def refuse(self, door: str, unsupported: Mapping[str, bool]) -> None:
        """Raise before any work if the plan uses a feature ``door`` cannot run, by name."""
        used = [feature for feature, in_use in unsupported.items() if in_use]
        if used:
            raise ValueError(
                f"{door} cannot run: {', '.join(used)} (see docs/doors.md for "
                "what each door supports)"
            )


def free_name(name: str, taken: Any) -> str:
    """``name``, or ``model_<name>`` if the data already has that column (never overwrite)."""
    while name in taken:
        name = f"model_{name}"
    return name


def outputs_column(predictions: str | None, has_targets: bool, taken: Any) -> str:
    """The table's name for the model's outputs, as MLflow's default evaluator names it:
    ``predictions=`` when targets are given, else ``outputs`` (``model_outputs`` if taken)."""
    return free_name((predictions if has_targets else None) or "outputs", taken)


def pick_input_column(columns: Sequence[str], col_mapping: Mapping[str, Any]) -> str | None:
    """The column holding the model's input text: mapped 'inputs', an 'inputs' column, or the only one."""
    mapped = col_mapping.get("inputs")
    if isinstance(mapped, str) and mapped in columns:
        return mapped
    if "inputs" in columns:
        return "inputs"
    return columns[0] if len(columns) == 1 else None


def text_input_column(
    features: Sequence[str], col_mapping: Mapping[str, Any], model_input: str
) -> str | None:
    """``model_input="text"``: the feature column whose values the model gets (a clear error
    if there is none); ``"dataframe"``: None, the model gets the feature frame.

        >>> text_input_column(["question", "topic"], {"inputs": "question"}, "text")
        'question'
    """
    if model_input == "dataframe":
        return None
    column = pick_input_column(list(features), col_mapping)
    if column is None:
        raise ValueError(
            "model_input='text' needs one input column: name it 'inputs' or map it with "
            f"col_mapping={{'inputs': '<column>'}}; feature columns: {list(features)}"
        )
    return column


def logical_defaults(
    features: Sequence[str],
    col_mapping: Mapping[str, Any],
    *,
    targets: str | None = None,
    predictions: str | None = None,
) -> dict[str, str]:
    """Where the logical columns are when ``col_mapping`` does not say: ``predictions`` (the
    model's outputs), ``targets``, and ``inputs`` (:func:`pick_input_column` of the features).

        >>> logical_defaults(["question"], {}, targets="gold", predictions="outputs")
        {'predictions': 'outputs', 'targets': 'gold', 'inputs': 'question'}
    """
    found = {"predictions": predictions, "targets": targets}
    found["inputs"] = pick_input_column(list(features), col_mapping)
    return {k: v for k, v in found.items() if v is not None}


def check_unique_keys(metrics: Sequence[Metric]) -> None:
    seen: dict[str, Metric] = {}
    for metric in metrics:
        if metric.key in seen:
            raise ValueError(
                f"two metrics share the key '{metric.key}' ({seen[metric.key]!r} and {metric!r}); "
                "give one another name or version"
            )
        seen[metric.key] = metric


def order_by_dependencies(metrics: Sequence[Metric]) -> list[Metric]:
    """The metrics in their given order, except that each comes after the metrics it reads."""
    by_name: dict[str, Metric] = {}
    for metric in metrics:
        by_name.setdefault(metric.name, metric)
        by_name[metric.key] = metric
    unknown = [(m.key, d) for m in metrics for d in m.dependencies if d not in by_name]
    if unknown:
        raise ValueError(
            "metric(s) read the results of metrics that are not computed: "
            + ", ".join(f"'{key}' reads '{dep}'" for key, dep in unknown)
            + f"; metrics computed: {[m.key for m in metrics]}"
        )
    ordered: list[Metric] = []
    state: dict[str, str] = {}

    def visit(metric: Metric, path: list[str]) -> None:
        if state.get(metric.key) == "done":
            return
        if state.get(metric.key) == "visiting":
            cycle = path[path.index(metric.key) :] + [metric.key]
            raise ValueError(f"metrics depend on each other in a cycle: {' -> '.join(cycle)}")
        state[metric.key] = "visiting"
        for dep in metric.dependencies:
            visit(by_name[dep], path + [metric.key])
        state[metric.key] = "done"
        ordered.append(metric)

    for metric in metrics:
        visit(metric, [])
    return ordered


def column_of(
    logical: str,
    columns: Sequence[str],
    defaults: Mapping[str, str],
    col_mapping: Mapping[str, Any],
) -> str | None:
    """The data column of a logical column, or None when the data lacks it."""
    actual = col_mapping.get(logical, defaults.get(logical, logical))
    return actual if isinstance(actual, str) and actual in set(columns) else None


def plan_columns(
    metric: Metric,
    columns: Sequence[str],
    defaults: Mapping[str, str],
    col_mapping: Mapping[str, Any],
) -> tuple[dict[str, str], list[tuple[str, Any]]]:
    """(logical -> data column of what is present, [(missing logical, mapped name)])."""
    resolved: dict[str, str] = {}
    missing: list[tuple[str, Any]] = []
    for logical, required in [(c, True) for c in metric.requires] + [
        (c, False) for c in metric.optional
    ]:
        actual = column_of(logical, columns, defaults, col_mapping)
        if actual is not None:
            resolved[logical] = actual
        elif required:
            missing.append((logical, col_mapping.get(logical, defaults.get(logical, logical))))
    return resolved, missing


def missing_message(
    problems: Sequence[tuple[Metric, list[tuple[str, Any]]]], columns: Sequence[str]
) -> str:
    lines = []
    for metric, missing in problems:
        names = ", ".join(
            f"'{logical}'" + (f" (mapped to '{actual}')" if actual != logical else "")
            for logical, actual in missing
        )
        lines.append(f"metric '{metric.key}' needs column(s) {names}")
    first = problems[0][1][0][0]
    return (
        "; ".join(lines) + f", which are not in the data. Columns present: {list(columns)}. "
        f"Map a column with evaluator_config={{'col_mapping': {{'{first}': '<your column>'}}}}."
    )


def build_plan(
    metrics: Sequence[Metric],
    *,
    columns: Sequence[str],
    defaults: Mapping[str, str] | None = None,
    evaluator_config: EvaluatorConfig | Mapping[str, Any] | None = None,
    model_type: str | None = None,
    preset_keys: frozenset[str] = frozenset(),
) -> EvaluationPlan:
    """Plan ``metrics`` against the data's ``columns`` (see the module docstring).

    Raises before any scoring: ValueError for a bad config, two metrics with one key, an
    unknown dependency or a cycle, a ``human_labels`` judge that is not computed;
    :class:`MissingColumnError` naming every missing column (human label columns included).
    """
    config = (
        evaluator_config
        if isinstance(evaluator_config, EvaluatorConfig)
        else EvaluatorConfig.from_dict(evaluator_config, metrics)
    )
    defaults = dict(defaults or {})
    columns = list(columns)
    check_unique_keys(metrics)
    has_targets = column_of("targets", columns, defaults, config.col_mapping) is not None
    kept, skipped = drop_preset_metrics_without_targets(metrics, preset_keys, has_targets)
    names = [m.name for m in kept]
    resolved = [_resolve(m, columns, defaults, config, has_targets, names) for m in kept]
    steps, problems = [], []
    for metric in order_by_dependencies(resolved):
        found, missing = plan_columns(metric, columns, defaults, config.col_mapping)
        if missing:
            problems.append((metric, missing))
        steps.append(Step(metric, found))
    if problems:
        raise MissingColumnError(missing_message(problems, columns))
    plan = EvaluationPlan(steps, config, model_type, preset_keys, skipped, defaults)
    _check_human_labels(plan, columns)
    return plan


def drop_preset_metrics_without_targets(
    metrics: Sequence[Metric], preset_keys: frozenset[str], has_targets: bool
) -> tuple[list[Metric], list[dict[str, str]]]:
    """MLflow computes a preset without targets minus the metrics that need them: so does every
    door, with a warning and a record in the run (never silently). Extra metrics are kept."""
    if has_targets:
        return list(metrics), []
    kept, skipped = [], []
    for metric in metrics:
        if metric.key in preset_keys and "targets" in metric.requires:
            skipped.append(
                {
                    "metric": metric.key,
                    "reason": "needs targets; the data has none "
                    "(pass targets= to mlflow.evaluate to compute it)",
                }
            )
        else:
            kept.append(metric)
    if skipped:
        _logger.warning(
            "llm_eval: no targets, so these preset metrics are skipped: %s",
            ", ".join(s["metric"] for s in skipped),
        )
    return kept, skipped


def _resolve(
    metric: Metric,
    columns: list[str],
    defaults: dict[str, str],
    config: EvaluatorConfig,
    has_targets: bool,
    names: list[str],
) -> Metric:
    """A metric that plans its own arguments (an MLflow metric's ``resolve``), planned here."""
    resolve = getattr(metric, "resolve", None)
    if not callable(resolve):
        return metric
    planned: Metric = resolve(
        columns=columns,
        predictions_names=[defaults["predictions"]] if "predictions" in defaults else [],
        targets_names=[defaults["targets"]] if "targets" in defaults else [],
        has_targets=has_targets,
        col_mapping=config.col_mapping,
        config=config.passed_to_metrics,
        metric_names=names,
    )
    return planned


def _check_human_labels(plan: EvaluationPlan, columns: list[str]) -> None:
    by_name = {m.name for m in plan.metrics}
    for name, column in plan.config.human_labels.items():
        if name not in by_name:
            raise ValueError(
                f"human_labels names '{name}', which is not one of the metrics {sorted(by_name)}"
            )
        if column not in columns:
            raise MissingColumnError(
                f"human_labels['{name}'] names column '{column}', which is "
                f"not in the data. Columns present: {columns}"
            )
