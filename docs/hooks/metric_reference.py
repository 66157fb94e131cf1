"""MkDocs hook: the metric reference, generated from the registry at build time.

Every name in ``le.available_metrics()`` gets a section: its version, the columns it reads, its
options (the factory's signature), the value kind and interval, the statuses it can give and an
example. For metrics that score offline the example is run while the site builds and its output
is shown, so a wrong example fails ``mkdocs build``. A new metric appears without a hand edit.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from inspect import Parameter as parameter_kind
import math
import os
import re
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- metric-reference -->"
#: Probe values, one per kind of bad cell, given to every required column.
PROBES: tuple[Any, ...] = (None, 5, "", "bad \ud800 text")
#: A judge or model-backed metric is built with this model (no request is sent while building).
DOC_JUDGE = "openai:/gpt-4o-mini"
SAMPLE = {
    "predictions": "The cat sat on the mat.",
    "targets": "A cat sat on the mat.",
    "inputs": "Where did the cat sit?",
    "context": "The cat sat on the mat all day.",
}


@contextlib.contextmanager
def _judge_env() -> Iterator[None]:
    """Judges check for a key at construction: a placeholder while the page is built, restored after."""
    saved = {k: os.environ.get(k) for k in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "HF_HUB_OFFLINE")}
    os.environ["HF_HUB_OFFLINE"] = "1"  # a model metric's probe rows never wait on the Hub
    os.environ["OPENAI_API_KEY"] = "sk-docs-build-placeholder"
    os.environ["OPENAI_BASE_URL"] = "http://127.0.0.1:9/v1"  # nothing listens: no request leaves
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _build(name: str) -> tuple[Any, dict[str, Any]]:
    """The metric with default options, or with a judge model / a local model function."""
    from mlflow_llm_eval import get_metric

    try:
        return get_metric(name), {}
    except (TypeError, ValueError):
        pass
    for options in ({"model": DOC_JUDGE}, {"model": lambda texts: list(texts)}):
        try:
            return get_metric(name, **options), options
        except (TypeError, ValueError):
            continue
    raise RuntimeError(f"cannot build metric {name!r} for the reference")


def _is_judge(metric: Any) -> bool:
    return type(metric).__module__.startswith("mlflow_llm_eval.judge")


def _source_statuses(module_names: list[str]) -> set[str]:
    """Status texts a module writes (``"truncated"``, ``Status.TRUNCATED``)."""
    from mlflow_llm_eval.core.types import STATUSES, Status

    found: set[str] = set()
    for module_name in module_names:
        module = sys.modules.get(module_name)
        path = getattr(module, "__file__", None)
        paths = [Path(path)] if path else []
        if path and Path(path).name == "__init__.py":
            paths = sorted(Path(path).parent.glob("*.py"))
        for file in paths:
            text = file.read_text(encoding="utf-8")
            found |= {s for s in re.findall(r"[\"']([a-z_]+)[\"']", text) if s in STATUSES}
            found |= {
                Status[m].value
                for m in re.findall(r"Status\.([A-Z_]+)", text)
                if m in Status.__members__
            }
    return found


def statuses_of(metric: Any) -> list[str]:
    """What a metric can give: probed on bad rows, written by its module, and its family's."""
    from mlflow_llm_eval.core.engine import run_metric
    from mlflow_llm_eval.core.types import STATUSES

    seen = {"ok", "error"}  # the engine gives `error` to any row whose scoring raised
    rows = {column: list(PROBES) for column in metric.requires}
    package_log = logging.getLogger("mlflow_llm_eval")
    level = package_log.level
    package_log.setLevel(logging.ERROR)  # a model metric offline warns that it is unavailable
    try:
        with contextlib.suppress(Exception), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            seen |= set(run_metric(metric, rows, len(PROBES)).statuses)
    finally:
        package_log.setLevel(level)
    modules = [type(metric).__module__]
    if _is_judge(metric):
        modules += ["mlflow_llm_eval.chat", "mlflow_llm_eval.judge"]
    seen |= _source_statuses(modules)
    return [s for s in STATUSES if s in seen]


def _factory(name: str) -> Any:
    from mlflow_llm_eval.core.registry import _all_factories

    return _all_factories()[name]


def _options(name: str, metric: Any) -> list[str]:
    factory = _factory(name)
    parameters = list(inspect.signature(factory).parameters.values())
    if parameters and parameters[-1].kind is parameter_kind.VAR_KEYWORD:
        # ``**options`` go to the metric's class: list its keyword parameters instead
        own = [
            p
            for p in inspect.signature(type(metric).__init__).parameters.values()
            if p.name not in ("self", "name", "model") and p.default is not p.empty
        ]
        parameters = parameters[:-1] + [
            p for p in own if p.name not in {q.name for q in parameters}
        ]
    lines = []
    for parameter in parameters:
        if parameter.kind is parameter.VAR_KEYWORD:
            lines.append(f"`**{parameter.name}`")
            continue
        default = "" if parameter.default is parameter.empty else f" = {parameter.default!r}"
        if callable(parameter.default) and hasattr(parameter.default, "__name__"):
            default = f" = {parameter.default.__name__}"
        lines.append(f"`{parameter.name}{default}`")
    return lines


def _factory_doc(name: str) -> str:
    doc = inspect.getdoc(_factory(name)) or ""
    paragraph = doc.split("\n\n")[0].strip()
    text = re.sub(
        r":(?:mod|class|func|meth|attr):`~?\.?([^`]+)`", r"`\1`", " ".join(paragraph.split())
    )
    return text.replace("``", "`")


def _example(name: str, metric: Any, options: dict[str, Any]) -> str:
    """A runnable example with its output (offline metrics), else how to build it."""
    from mlflow_llm_eval.sample import evaluate_sample

    kwargs = {}
    for column in metric.requires:
        key = {"predictions": "prediction", "targets": "target", "inputs": "input"}.get(
            column, column
        )
        kwargs[key] = SAMPLE.get(column, f"some {column}")
    call = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    needs_model = "model" in inspect.signature(_factory(name)).parameters
    offline = not options and not needs_model and name != "latency"
    if offline:
        try:
            score = evaluate_sample(metric, **kwargs)
        except Exception:  # noqa: BLE001 - a metric that cannot run here gets the "not run" form
            offline = False
        else:
            if score.status != "ok" or math.isnan(score.value):
                offline = False
    if offline:
        value = f"{score.value:.4g}"
        return (
            f'```python\nimport mlflow_llm_eval as le\n\nscore = le.evaluate_sample("{name}", {call})\n'
            f"print(score.value, score.status)   # {value} ok\n```"
        )
    if name == "latency":
        return (
            '```python title="not run"\n# latency times the model\'s predict call: give a model\n'
            'mlflow.evaluate(model, data, extra_metrics=[le.latency()], evaluators="llm_eval")\n```'
        )
    if not options and needs_model:
        options = {"model": "/path/to/local/model"}
    built = ", ".join(
        f"model={v!r}" if isinstance(v, str) else "model=my_model_fn" for v in options.values()
    )
    return (
        f'```python title="not run"\nimport mlflow_llm_eval as le\n\nmetric = le.get_metric("{name}"{", " + built if built else ""})\n'
        f"print(le.evaluate_sample(metric, {call}))\n```"
    )


def render() -> str:
    """The reference's Markdown (one section per registered metric)."""
    from mlflow_llm_eval import available_metrics

    out = []
    with _judge_env():
        names = available_metrics()
        table = ["| metric | version | reads | kind |", "|---|---|---|---|"]
        built = {}
        for name in names:
            metric, options = _build(name)
            built[name] = (metric, options)
            table.append(
                f"| [{name}](#{name.lower()}) | {metric.version or '(none)'} | "
                f"{', '.join(metric.requires)} | {metric.value_kind} |"
            )
        out.append("\n".join(table))
        for name in names:
            metric, options = built[name]
            meta = metric.metadata()
            value_range = meta["value_range"]
            lines = [f"## {name}", "", meta["description"] or _factory_doc(name), ""]
            lines.append(
                f"- **key**: `{metric.key}` (columns `{metric.score_column}`, "
                f"`{metric.key}/status`, `{metric.key}/reason`)"
            )
            lines.append(
                f"- **reads**: {', '.join(f'`{c}`' for c in metric.requires)}"
                + (
                    f"; optional {', '.join(f'`{c}`' for c in metric.optional)}"
                    if metric.optional
                    else ""
                )
            )
            lines.append(f"- **greater is better**: {metric.greater_is_better}")
            lines.append(
                f"- **value kind**: `{meta['value_kind']}`"
                + (f" in {value_range}" if value_range is not None else "")
                + f"; interval of the mean: {meta['ci_method']}"
            )
            lines.append(f"- **aggregations**: {', '.join(f'`{a}`' for a in metric.aggregations)}")
            lines.append(f"- **options**: {', '.join(_options(name, metric)) or 'none'}")
            lines.append(
                "- **statuses it can give**: "
                + ", ".join(f"[`{s}`](statuses.md)" for s in statuses_of(metric))
            )
            doc = _factory_doc(name)
            if doc and doc != meta["description"]:
                lines += ["", doc]
            lines += ["", _example(name, metric, options), ""]
            out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    if MARKER not in markdown:
        return markdown
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return markdown.replace(MARKER, render())
