"""Field mapping: one MLflow 3 evaluation row (inputs, outputs, expectations, trace) -> the
logical columns our metrics read (predictions, targets, inputs, context, latency, ...).

The table in README.md ("MLflow 3 scorers: field mapping") documents these rules; a
``field_map`` given to a scorer overrides them per logical column with a path such as
``"outputs"``, ``"inputs.question"`` or ``"expectations.reference"``.

    >>> row = resolve_row(("predictions", "targets", "inputs"),
    ...                   inputs={"question": "Capital of France?"}, outputs="Paris",
    ...                   expectations={"expected_response": "Paris"}, trace=None)
    >>> row["predictions"], row["targets"], row["inputs"]
    ('Paris', 'Paris', 'Capital of France?')
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from mlflow_llm_eval.genai_adapter.compat import (
    parse_inputs_to_str,
    parse_outputs_to_str,
    retrieval_context,
)
from mlflow_llm_eval.genai_adapter.trace_fields import (
    TRACE_FIELDS,
    expected_ids_of,
    tool_calls_of,
    trace_field,
)

#: Keys of an ``inputs`` dict that hold the question/prompt, tried in this order.
INPUT_KEYS = ("question", "query", "request", "input", "prompt", "inputs", "messages")
#: Expectation keys that hold the reference answer (MLflow's Correctness reads the first two).
TARGET_KEYS = ("expected_response", "expected_facts", "targets", "ground_truth")
#: Where retrieved context is read from when the trace has no RETRIEVER span.
CONTEXT_KEYS = ("context", "retrieved_context", "expected_retrieved_context")
SOURCES = ("inputs", "outputs", "expectations", "trace")


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _text_of_output(value: Any) -> Any:
    """A model output as text: strings as they are; chat/Responses dicts via MLflow's parser.

    Values MLflow's parser would only dump to JSON (numbers, plain dicts) are passed through
    unchanged, so the metric reports them per row (``not_text``) as the classic path does.
    """
    if _missing(value) or isinstance(value, str):
        return value
    if isinstance(value, list) and len(value) == 1:  # pyfunc-style [output]
        return _text_of_output(value[0])
    if isinstance(value, dict):
        text = parse_outputs_to_str(value)
        try:
            dumped = json.loads(text) == value
        except ValueError:
            dumped = False
        return value if dumped else text
    return value


def _text_of_input(value: Any) -> Any:
    """The question of an ``inputs`` value: a string, the one string of a dict, a known key
    (``question``, ``query``, ...), the last chat message; else MLflow's rendering."""
    if _missing(value) or isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        strings = [v for v in value.values() if isinstance(v, str)]
        if len(value) == 1 and len(strings) == 1:
            return strings[0]
        for key in INPUT_KEYS:
            if isinstance(value.get(key), str):
                return value[key]
        return parse_inputs_to_str(dict(value))
    return value


def _target_of(expectations: Mapping[str, Any]) -> Any:
    """The reference answer: ``expected_response``, else ``expected_facts`` as a bullet list."""
    for key in TARGET_KEYS:
        if key not in expectations or _missing(expectations[key]):
            continue
        value = expectations[key]
        if key == "expected_facts" and isinstance(value, (list, tuple)):
            return "\n".join(f"- {fact}" for fact in value)
        return value
    return None


def _passages(value: Any) -> Any:
    """Context as text: a list of passages (strings or ``{"content": ...}`` chunks) joined."""
    if isinstance(value, (list, tuple)):
        texts = [
            v.get("content", v.get("page_content")) if isinstance(v, Mapping) else v for v in value
        ]
        if texts and all(isinstance(t, str) for t in texts):
            return "\n\n".join(texts)
    return value


def _context_of(inputs: Any, expectations: Mapping[str, Any], trace: Any) -> Any:
    """Retrieved context: the trace's top-level RETRIEVER spans (as MLflow's RAG scorers read
    it), else ``expectations`` / ``inputs`` under ``context``, ``retrieved_context``, ..."""
    if trace is not None:
        chunks = retrieval_context(trace)
        if chunks:
            return _passages(chunks)
    for source in (expectations, inputs if isinstance(inputs, Mapping) else {}):
        for key in CONTEXT_KEYS:
            if key in source and not _missing(source[key]):
                return _passages(source[key])
    return None


def _latency_of(trace: Any) -> Any:
    duration = getattr(getattr(trace, "info", None), "execution_duration", None)
    return None if duration is None else duration / 1000.0


def _by_path(path: str, sources: Mapping[str, Any]) -> Any:
    head, _, rest = path.partition(".")
    if head not in SOURCES:
        raise ValueError(f"field_map path {path!r} must start with one of {SOURCES}")
    if head == "trace" and rest in TRACE_FIELDS:  # trace.tool_calls, trace.retrieved_ids
        return trace_field(rest, sources["outputs"], sources["trace"])
    if path == "expectations.expected_ids":
        return expected_ids_of(sources["expectations"])
    value = sources[head]
    for part in [p for p in rest.split(".") if p] if rest else []:
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def validate_field_map(field_map: Mapping[str, str] | None) -> dict[str, str]:
    """Check a ``field_map`` early: logical column -> ``"<source>[.key...]"``."""
    field_map = dict(field_map or {})
    for logical, path in field_map.items():
        if not isinstance(path, str) or path.partition(".")[0] not in SOURCES:
            raise ValueError(
                f"field_map[{logical!r}] = {path!r}: give a path starting with one "
                f"of {SOURCES}, e.g. 'expectations.reference'"
            )
    return field_map


def resolve_row(
    columns: Sequence[str],
    *,
    inputs: Any,
    outputs: Any,
    expectations: Mapping[str, Any] | None,
    trace: Any,
    field_map: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The value of each logical column for one row (``None`` when absent: the metric then
    gives the row status ``missing`` with its reason)."""
    expectations = expectations if isinstance(expectations, Mapping) else {}
    sources = {"inputs": inputs, "outputs": outputs, "expectations": expectations, "trace": trace}
    row: dict[str, Any] = {}
    for column in columns:
        if field_map and column in field_map:
            value = _by_path(field_map[column], sources)
            as_text = column == "predictions" and not field_map[column].startswith("trace.")
            row[column] = _text_of_output(value) if as_text else value
        elif column == "predictions":
            row[column] = _text_of_output(outputs)
        elif column == "inputs":
            row[column] = _text_of_input(inputs)
        elif column == "targets":
            row[column] = _target_of(expectations)
        elif column == "context":
            row[column] = _context_of(inputs, expectations, trace)
        elif column == "latency":
            row[column] = _latency_of(trace)
        elif column == "tool_calls":
            row[column] = tool_calls_of(outputs, trace)
        else:  # any other column a metric declares: expectations first, then inputs
            value = expectations.get(column)
            if value is None and isinstance(inputs, Mapping):
                value = inputs.get(column)
            row[column] = value
    return row
