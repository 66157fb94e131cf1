"""MLflow-version shims: the one place that reads MLflow names which are internal or newer
than MLflow 3.0.0 (the package supports ``mlflow>=3.0,<4``).

Each helper feature-detects MLflow's own function and uses it when the installed MLflow has it
(so our reading follows MLflow's), else falls back to the equivalent written here (same rules,
documented per function), or, where the feature itself is missing, raises
:class:`MlflowFeatureMissing` naming the feature and the MLflow version that brought it.
``tests/compat/test_mlflow_internals.py`` pins every name below on each version that
``.ci/mlflow-matrix`` runs (and checks each fallback against MLflow's function where both exist).

    >>> mlflow_at_least("3.0")
    True
    >>> parse_outputs_to_str({"choices": [{"message": {"role": "assistant", "content": "Hi"}}]})
    'Hi'
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Mapping
from importlib import import_module
from typing import Any

#: MLflow's internal module of trace helpers (not public API: pinned by tests/compat).
TRACE_UTILS = "mlflow.genai.utils.trace_utils"

#: The first MLflow release holding each feature this package can use (found in the released
#: wheels; tests/compat/test_mlflow_internals.py checks the names against the installed MLflow).
SINCE = {
    "extract_retrieval_context_from_trace": "3.1.0",
    "parse_inputs_to_str": "3.1.0",
    "parse_outputs_to_str": "3.3.0",
    "mlflow.genai.evaluate without Databricks": "3.3.0",
    "Scorer.register": "3.2.0",
    "Scorer.description": "3.6.0",
    "session-level scorers (resolve_conversation_from_session)": "3.7.0",
    "resolve_conversation_from_session(include_tool_calls=)": "3.8.0",
    "extract_tools_called_from_trace": "3.8.0",
    "is_rate_limit_error (harness retries HTTP 429)": "3.12.0",
    "MLFLOW_SERVER_ENABLE_CUSTOM_SCORERS": "3.17.0",
    "span names kept as given (no _1, _2 on repeated names)": "3.6.0",
}


class MlflowFeatureMissing(RuntimeError):
    """The installed MLflow lacks a feature: the message names it and the version needed."""

    def __init__(self, feature: str) -> None:
        import mlflow

        super().__init__(
            f"{feature} needs MLflow >= {SINCE[feature]} (installed: {mlflow.__version__}); "
            f"pip install 'mlflow>={SINCE[feature]},<4'"
        )


def _release(version: str) -> tuple[int, ...]:
    """``"3.8.0rc0"`` -> ``(3, 8, 0)``: a pre-release counts as its release."""
    return tuple(int(part) for part in re.findall(r"\d+", version.split("rc")[0])[:3])


def mlflow_version() -> tuple[int, ...]:
    """The installed MLflow's release, e.g. ``(3, 17, 2)``."""
    import mlflow

    return _release(mlflow.__version__)


def mlflow_at_least(version: str) -> bool:
    """Whether the installed MLflow is ``version`` or newer."""
    return mlflow_version() >= _release(version)


def mlflow_has(feature: str) -> bool:
    """Whether the installed MLflow has a feature of :data:`SINCE`."""
    return mlflow_at_least(SINCE[feature])


def _mlflow_function(name: str) -> Any:
    """``mlflow.genai.utils.trace_utils.<name>``, or None if this MLflow has no such function."""
    return getattr(import_module(TRACE_UTILS), name, None)


# --- text of inputs / outputs (MLflow's judges' reading) ------------------------------------


def _plain(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if hasattr(value, "model_dump"):
        return value.model_dump()
    return json.loads(json.dumps(value, default=str))


def _last_content(messages: Any) -> Any:
    if isinstance(messages, list) and messages and isinstance(messages[-1], Mapping):
        content = messages[-1].get("content")
        return content if isinstance(content, str) else None
    return None


def _responses_text(output: Any) -> Any:
    if not (isinstance(output, list) and output and isinstance(output[-1], Mapping)):
        return None
    if output[-1].get("type") != "message" or "content" not in output[-1]:
        return None
    for item in reversed(output):
        if isinstance(item, Mapping) and item.get("role") == "assistant" and "content" in item:
            content = item["content"]
            if isinstance(content, str):
                return content
            for part in content if isinstance(content, list) else []:
                if isinstance(part, Mapping) and part.get("type") in ("text", "output_text"):
                    return part.get("text", json.dumps(output))
    return json.dumps(output)


def parse_outputs_to_str(value: Any) -> str:
    """A model output as the text MLflow's judges read: MLflow's own function (MLflow >= 3.3),
    else :func:`outputs_to_str`."""
    own = _mlflow_function("parse_outputs_to_str")
    return str(own(value)) if own is not None else outputs_to_str(value)


def outputs_to_str(value: Any) -> str:
    """``parse_outputs_to_str``'s rules: a string as is; a list -> its first item; a chat
    completion -> ``choices[0].message.content``; ``{"messages": [...]}`` -> the last message's
    content; a Responses API ``{"output": [...]}`` -> the assistant's text; else JSON.

    >>> outputs_to_str([{"messages": [{"role": "assistant", "content": "Paris"}]}])
    'Paris'
    """
    if value is None or (isinstance(value, float) and value != value):
        return " "
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value:
        return outputs_to_str(value[0])
    value = _plain(value)
    if isinstance(value, Mapping):
        choices = value.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], Mapping):
            content = _last_content([choices[0].get("message")])
            if content is not None:
                return content
        for text in (_last_content(value.get("messages")), _responses_text(value.get("output"))):
            if text is not None:
                return text
    return json.dumps(value)


def parse_inputs_to_str(value: Any) -> str:
    """A request as the text MLflow's judges read: MLflow's own function (MLflow >= 3.1), else
    :func:`inputs_to_str`."""
    own = _mlflow_function("parse_inputs_to_str")
    return str(own(value)) if own is not None else inputs_to_str(value)


def inputs_to_str(value: Any) -> str:
    """``parse_inputs_to_str``'s rules: a string as is; ``{"messages": [...]}`` -> the last
    message's content (all messages as JSON when there are several text messages); other
    dicts -> ``str``.

    >>> inputs_to_str({"messages": [{"role": "user", "content": "Hi"}]})
    'Hi'
    """
    if value is None or (isinstance(value, float) and value != value):
        return " "
    if isinstance(value, str):
        return value
    value = _plain(value)
    if not isinstance(value, Mapping):
        return json.dumps(value)
    messages = value.get("messages")
    if isinstance(messages, list) and messages:
        contents = [m.get("content") if isinstance(m, Mapping) else None for m in messages]
        if len(contents) > 1 and all(isinstance(c, str) for c in contents):
            return json.dumps(messages)
        if isinstance(contents[-1], str):
            return contents[-1]
    return str(value)


# --- what a trace holds ---------------------------------------------------------------------


def top_level_spans(trace: Any, span_type: str) -> list[Any]:
    """The spans of ``span_type`` not inside another span of that type, in start order."""
    spans = list(trace.data.spans)
    by_id = {s.span_id: s for s in spans}
    out = []
    for span in spans:
        if str(span.span_type) != span_type:
            continue
        parent = by_id.get(span.parent_id)
        while parent is not None and str(parent.span_type) != span_type:
            parent = by_id.get(parent.parent_id)
        if parent is None:
            out.append(span)
    return sorted(out, key=lambda s: s.start_time_ns or 0)


def _chunk(document: Any) -> dict[str, Any] | None:
    if not isinstance(document, Mapping):
        return None
    key = next((k for k in ("page_content", "content", "text") if k in document), None)
    chunk = {"content": document.get(key) if key is not None else None}
    metadata = document.get("metadata")
    if isinstance(metadata, Mapping) and metadata.get("doc_uri"):
        chunk["doc_uri"] = metadata["doc_uri"]
    return chunk


def span_documents(trace: Any, span_type: str = "RETRIEVER") -> list[tuple[Any, list[Any]]]:
    """Each top-level span of ``span_type`` with the documents it returned (its outputs as a
    list, JSON text decoded); a span whose outputs are not a list gives an empty list."""
    found = []
    for span in top_level_spans(trace, span_type):
        documents = span.outputs
        if isinstance(documents, str):
            try:
                documents = json.loads(documents)
            except ValueError:
                documents = None
        found.append((span, documents if isinstance(documents, list) else []))
    return found


def retrieval_context_by_span(trace: Any) -> dict[str, list[dict[str, Any]]]:
    """The documents of the trace's top-level RETRIEVER spans per span id, as MLflow's RAG
    scorers read them: ``extract_retrieval_context_from_trace`` (MLflow >= 3.1), else
    :func:`retrieved_chunks_by_span`."""
    if trace is None or getattr(trace, "data", None) is None:
        return {}
    own = _mlflow_function("extract_retrieval_context_from_trace")
    if own is not None:
        return dict(own(trace))
    return retrieved_chunks_by_span(trace)


def retrieval_context(trace: Any) -> list[dict[str, Any]]:
    """:func:`retrieval_context_by_span` as one list in span order."""
    return [chunk for per_span in retrieval_context_by_span(trace).values() for chunk in per_span]


def retrieved_chunks_by_span(trace: Any) -> dict[str, list[dict[str, Any]]]:
    """``extract_retrieval_context_from_trace``'s rules: each document (a dict) of a top-level
    RETRIEVER span gives ``{"content": page_content | content | text, "doc_uri":
    metadata.doc_uri}``; a span whose outputs are not a list of documents gives nothing."""
    chunks: dict[str, list[dict[str, Any]]] = {}
    for span, documents in span_documents(trace):
        found = [c for c in map(_chunk, documents) if c is not None]
        if found:
            chunks.setdefault(span.span_id, []).extend(found)
    return chunks


def retrieved_chunks(trace: Any) -> list[dict[str, Any]]:
    """:func:`retrieved_chunks_by_span` as one list in span order."""
    return [chunk for per_span in retrieved_chunks_by_span(trace).values() for chunk in per_span]


def tools_called(trace: Any) -> list[dict[str, Any]]:
    """The trace's TOOL spans in start order as ``{"name", "arguments"}``, as MLflow's
    ``ToolCallCorrectness`` reads them: ``extract_tools_called_from_trace`` (MLflow >= 3.8),
    else :func:`tool_spans_called`."""
    own = _mlflow_function("extract_tools_called_from_trace")
    if own is not None:
        return [{"name": c.name, "arguments": c.arguments} for c in own(trace)]
    return tool_spans_called(trace)


def tool_spans_called(trace: Any) -> list[dict[str, Any]]:
    """``extract_tools_called_from_trace``'s rules: the name is the span's
    ``inputs["call"]["tool_name"]`` if given, else the span's name; the arguments are the
    span's inputs (None when empty). Span names as the app gave them: see
    :func:`original_span_names`."""
    names = original_span_names(trace.data.spans)
    spans = [s for s in trace.data.spans if str(s.span_type) == "TOOL"]
    calls = []
    for span in sorted(spans, key=lambda s: s.start_time_ns or 0):
        inputs = span.inputs
        call = inputs.get("call") if isinstance(inputs, Mapping) else None
        name = call["tool_name"] if isinstance(call, Mapping) and "tool_name" in call else None
        calls.append({"name": name or names[span.span_id], "arguments": inputs or None})
    return calls


def original_span_names(spans: list[Any]) -> dict[Any, str]:
    """span id -> the name the app gave the span. MLflow 3.0-3.5 renamed spans sharing a name
    when a trace ended (``add``, ``add`` -> ``add_1``, ``add_2``), so a tool called twice would
    read as two tools: there the names go through :func:`unnumbered`."""
    ordered = sorted(spans, key=lambda s: s.start_time_ns or 0)
    names = {s.span_id: str(s.name) for s in ordered}
    return (
        names
        if mlflow_has("span names kept as given (no _1, _2 on repeated names)")
        else (unnumbered(names))
    )


def unnumbered(names: Mapping[Any, str]) -> dict[Any, str]:
    """Undo MLflow 3.0-3.5's renaming (ids in span start order): ``<base>_<i>`` is read as
    ``<base>`` when the names ``<base>_<n>`` are numbered 1, 2, ... n (n >= 2) in order and no
    span is named ``<base>`` (so an app's own ``step_1``, ``step_2`` read as ``step`` too).

    >>> unnumbered({1: "agent", 2: "add_1", 3: "add_2", 4: "x_2", 5: "y_1"})
    {1: 'agent', 2: 'add', 3: 'add', 4: 'x_2', 5: 'y_1'}
    """
    numbered: dict[str, list[tuple[int, Any]]] = {}
    for span_id, name in names.items():
        match = re.fullmatch(r"(.+)_(\d+)", name)
        if match:
            numbered.setdefault(match[1], []).append((int(match[2]), span_id))
    out = dict(names)
    taken = set(names.values())
    for base, items in numbered.items():
        if (
            base not in taken
            and len(items) > 1
            and [i for i, _ in items] == [*range(1, len(items) + 1)]
        ):
            out.update({span_id: base for _, span_id in items})
    return out


def conversation_of_session(session: list[Any]) -> list[dict[str, Any]]:
    """The chat messages of a session's traces, with a tool message per TOOL span
    (``resolve_conversation_from_session(..., include_tool_calls=True)``, MLflow >= 3.8; MLflow
    runs session-level scorers only from 3.7, so older versions never call this)."""
    own = _mlflow_function("resolve_conversation_from_session")
    if own is None or "include_tool_calls" not in inspect.signature(own).parameters:
        raise MlflowFeatureMissing("resolve_conversation_from_session(include_tool_calls=)")
    return list(own(list(session), include_tool_calls=True))
