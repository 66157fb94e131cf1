"""Judge metrics built through MLflow's API: ``make_genai_metric``, ``from_mlflow_genai_metric``.

``make_genai_metric`` takes the arguments of ``mlflow.metrics.genai.make_genai_metric`` in the
same order with the same meaning, plus keyword-only extras (``scale``, ``cache``, ``price``,
``progress``, ``samples`` and the request options: every field of
:class:`~mlflow_llm_eval.chat.RequestOptions` by keyword, or ``request_options=``), and returns
a :class:`~mlflow_llm_eval.judge.metric.GenAIMetric` (our engine underneath).
``from_mlflow_genai_metric`` converts an MLflow genai metric by reading its arguments back.

    >>> import os; os.environ.setdefault("OPENAI_API_KEY", "sk-doc")  # doctest: +ELLIPSIS
    '...'
    >>> tone = make_genai_metric(
    ...     name="professionalism", definition="How formal and business-like the output is.",
    ...     grading_prompt="- Score 1: slang, casual\\n- Score 5: formal, polished",
    ...     model="openai:/gpt-4o-mini", parameters={"temperature": 0.0})
    >>> tone.key, tone.requires, tone.spec.scale
    ('professionalism/v1', ('predictions', 'inputs'), (1, 5))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlflow_llm_eval.judge.metric import GenAIMetric
from mlflow_llm_eval.judge.pack import JudgeSpec, as_example, infer_scale, validate_scale
from mlflow_llm_eval.redaction import redact_text


def make_genai_metric(
    name: str,
    definition: str,
    grading_prompt: str,
    examples: Sequence[Any] | None = None,
    version: str | None = "v1",
    model: str | None = None,
    grading_context_columns: str | Sequence[str] | None = None,
    include_input: bool = True,
    parameters: dict[str, Any] | None = None,
    aggregations: list[str] | None = None,
    greater_is_better: bool = True,
    max_workers: int | None = None,
    metric_metadata: dict[str, Any] | None = None,
    extra_headers: dict[str, str] | None = None,
    proxy_url: str | None = None,
    *,
    scale: Sequence[float] | None = None,
    **engine_options: Any,
) -> GenAIMetric:
    """Build a judge metric; MLflow's ``make_genai_metric`` signature, our engine.

    ``examples`` are ``mlflow.metrics.genai.EvaluationExample`` objects, our
    :class:`~mlflow_llm_eval.judge.pack.EvaluationExample` or dicts. ``scale`` is the score range;
    by default it is read from the rubric's ``Score N`` lines. ``max_workers`` caps the adaptive
    concurrency (default 256). ``engine_options``: ``cache``, ``price``, ``progress``,
    ``samples``, ``request_options`` and any request option by keyword (see :class:`GenAIMetric`).
    """
    for label, value in (
        ("name", name),
        ("definition", definition),
        ("grading_prompt", grading_prompt),
    ):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"make_genai_metric: {label} must be a non-empty string")
    columns = (
        [grading_context_columns]
        if isinstance(grading_context_columns, str)
        else list(grading_context_columns or [])
    )
    if scale is None:
        scale = infer_scale(grading_prompt)
        if scale is None:
            raise ValueError(
                f"make_genai_metric('{name}'): cannot read the score scale from "
                "grading_prompt (no 'Score N' lines); pass scale=(low, high)"
            )
    spec = JudgeSpec(
        name=name,
        definition=definition.strip(),
        grading_prompt=grading_prompt.strip(),
        version=version or "v1",
        scale=validate_scale(scale),
        examples=tuple(as_example(e, columns) for e in examples or ()),
        grading_context_columns=tuple(columns),
        include_input=bool(include_input),
        greater_is_better=bool(greater_is_better),
    )
    return GenAIMetric(
        spec,
        model=model,
        parameters=parameters,
        aggregations=aggregations,
        max_workers=max_workers,
        metric_metadata=metric_metadata,
        extra_headers=extra_headers,
        proxy_url=proxy_url,
        **engine_options,
    )


#: What ``from_mlflow_genai_metric`` reads from an MLflow metric's ``eval_fn`` closure.
_CLOSURE_ARGS = ("extra_headers", "proxy_url")


def _mlflow_closure_args(metric: Any) -> dict[str, Any] | None:
    """``extra_headers`` and ``proxy_url`` of an MLflow genai metric, or None if not found.

    MLflow does not record them in ``genai_metric_args``; its ``eval_fn`` closes over them
    (``mlflow.metrics.genai.genai_metric.make_genai_metric``, pinned by
    tests/judge/test_mlflow_proxy.py).
    """
    import inspect

    fn = getattr(metric, "eval_fn", None)
    if not callable(fn):  # what getclosurevars refuses with TypeError below too
        return None
    try:
        nonlocals = inspect.getclosurevars(fn).nonlocals
    except TypeError:
        return None
    if not all(name in nonlocals for name in _CLOSURE_ARGS):
        return None
    return {name: nonlocals[name] for name in _CLOSURE_ARGS}


def _shown(name: str, value: Any) -> Any:
    """A value for an error message: header names only (their values may be secrets)."""
    return sorted(value) if name == "extra_headers" and value else value


def from_mlflow_genai_metric(metric: Any, **engine_options: Any) -> GenAIMetric:
    """Our judge built from an MLflow ``make_genai_metric`` / builtin genai metric's arguments.

    The arguments come from ``metric.genai_metric_args``; ``proxy_url`` and ``extra_headers``
    (which MLflow keeps only in its ``eval_fn``) are honoured: requests go to the proxy URL with
    the headers, as under MLflow. If they cannot be read from the metric, pass them explicitly
    (``proxy_url=None, extra_headers=None`` when the metric has none); a value that differs from
    the metric's own is an error, so data never goes somewhere the metric did not name.
    """
    args = dict(getattr(metric, "genai_metric_args", None) or {})
    if not args:
        raise TypeError(f"{metric!r} is not an MLflow genai metric (no genai_metric_args)")
    args.pop("mlflow_version", None)
    fn_name = args.pop("fn_name", "make_genai_metric")
    if fn_name != "make_genai_metric":
        raise TypeError(
            f"MLflow metric '{args.get('name')}' was made by {fn_name}; only "
            "make_genai_metric metrics (and MLflow's builtin judges) can be converted"
        )
    found = _mlflow_closure_args(metric)
    for name in _CLOSURE_ARGS:
        if found is None and name not in engine_options:
            raise ValueError(
                f"cannot read {' and '.join(_CLOSURE_ARGS)} from MLflow metric "
                f"'{args.get('name')}' (this MLflow version keeps them elsewhere): pass "
                f"from_mlflow_genai_metric(metric, proxy_url=..., extra_headers=...), None "
                "for those the metric does not set"
            )
        if (
            found is not None
            and name in engine_options
            and (engine_options[name] or None) != (found[name] or None)
        ):
            raise ValueError(
                redact_text(
                    f"from_mlflow_genai_metric: {name}={_shown(name, engine_options[name])!r} differs "
                    f"from the MLflow metric's own ({_shown(name, found[name])!r}); build the MLflow "
                    "metric with the value you want instead"
                )
            )
        if found is not None:
            engine_options[name] = found[name]
    return make_genai_metric(**args, **engine_options)
