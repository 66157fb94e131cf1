"""Registrable scorers: what ``scorer.register()`` accepts in MLflow 3.17, for our metrics.

MLflow registers (stores in the tracking server, for ``get_scorer`` / production monitoring)
only builtin, ``make_judge``, third-party (an allow-list of ``mlflow.genai.scorers.*`` modules)
and ``@scorer``-decorated scorers. A ``Scorer`` subclass such as :class:`MetricScorer` is
refused ("Scorer must be a builtin or decorator scorer"). A decorator scorer is stored as the
*source text* of its function body and rebuilt with ``exec`` where it is loaded, which MLflow
allows outside Databricks only with ``MLFLOW_SERVER_ENABLE_CUSTOM_SCORERS=true`` (set where the
scorer is registered/loaded, and on the server for monitoring jobs).

:func:`registrable` builds such a decorator scorer for any registered metric: its body is two
lines that import this package and call the shared :class:`MetricScorer` for the metric name
and options, which are written into the source as literals (so they must be JSON values; a
callable model or a secret cannot be stored). Wherever the scorer is loaded, this package
must be installed.

``Scorer.register`` came with MLflow 3.2: on older MLflow :func:`registrable` raises
:class:`~.compat.MlflowFeatureMissing` (after checking the options). The scorer's
``description`` is stored from MLflow 3.6 on (older MLflow has no such field).
"""

from __future__ import annotations

import functools
import hashlib
import json
import linecache
import re
from typing import Any

from mlflow.genai.scorers import Scorer, scorer

from mlflow_llm_eval.genai_adapter.compat import MlflowFeatureMissing
from mlflow_llm_eval.genai_adapter.scorer import MetricScorer, make_scorer

#: Options never written into a registered scorer's source (they may hold secrets).
SECRET_OPTIONS = ("extra_headers", "api_key", "proxy_url")


@functools.cache
def shared_scorer(metric_name: str, scorer_name: str, options_json: str) -> MetricScorer:
    """One :class:`MetricScorer` per (metric, name, options) in this process, shared by every
    call of a registered scorer (so MLflow's threads still batch and share one judge cache)."""
    return make_scorer(metric_name, name=scorer_name, **json.loads(options_json))


def _check_storable(options: dict[str, Any]) -> str:
    secret = [k for k in options if k in SECRET_OPTIONS]
    if secret:
        raise ValueError(
            f"options {secret} would be stored in the registered scorer's source; "
            "pass them through the environment instead"
        )
    try:
        text = json.dumps(options, sort_keys=True)
    except TypeError as exc:
        raise ValueError(
            f"a registered scorer stores its options as source literals, so they "
            f"must be JSON values: {exc}"
        ) from None
    if re.search(r"sk-[A-Za-z0-9]", text):
        raise ValueError("an option looks like an API key; keys come only from the environment")
    return text


def registrable(metric_name: str, *, name: str | None = None, **options: Any) -> Scorer:
    """A ``@scorer``-kind scorer for ``metric_name`` that ``.register()`` accepts (MLflow >= 3.2;
    tests/genai/test_scorer_registration.py registers one and loads it back). Options that
    could not be stored, or must not be, are refused first:

    >>> registrable("answer_correctness", api_key="...")
    Traceback (most recent call last):
    ValueError: options ['api_key'] would be stored in the registered scorer's source; ...
    """
    options_json = _check_storable(options)
    if "register" not in vars(Scorer):  # (pydantic's metaclass has an unrelated .register)
        raise MlflowFeatureMissing("Scorer.register")
    scorer_name = name or metric_name
    template = make_scorer(metric_name, name=scorer_name, **options)  # validate now
    digest = hashlib.sha256(f"{metric_name}|{scorer_name}|{options_json}".encode()).hexdigest()
    fn_name = "llm_eval_" + re.sub(r"\W", "_", scorer_name)
    source = (
        f"def {fn_name}(inputs=None, outputs=None, expectations=None, trace=None):\n"
        "    from mlflow_llm_eval.genai_adapter.registration import shared_scorer\n"
        f"    return shared_scorer({metric_name!r}, {scorer_name!r}, {options_json!r})(\n"
        "        inputs=inputs, outputs=outputs, expectations=expectations, trace=trace)\n"
    )
    # MLflow reads the function's source with inspect.getsource: give the generated code a
    # linecache entry, as the interactive interpreter does for code typed at the prompt.
    filename = f"<mlflow_llm_eval registrable {digest[:12]}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict[str, Any] = {}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - our own template
    described = (
        {"description": template.description} if "description" in Scorer.model_fields else {}
    )
    return scorer(
        namespace[fn_name], name=scorer_name, aggregations=template.aggregations, **described
    )
