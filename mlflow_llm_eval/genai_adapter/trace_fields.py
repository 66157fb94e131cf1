"""What agent metrics read from an MLflow 3 trace: tool calls (TOOL spans) and retrieved
document ids (RETRIEVER spans), plus the expected ids of ``expectations``.

- ``tool_calls``: every TOOL span in start order, as ``{"name", "arguments"}``; the name and
  arguments as MLflow's ``ToolCallCorrectness`` reads them
  (``mlflow.genai.utils.trace_utils.extract_tools_called_from_trace``, through
  :func:`.compat.tools_called` on MLflow < 3.8: the span's
  ``inputs["call"]["tool_name"]`` or its name; its inputs). A trace without TOOL spans made no
  call (``[]``); without a trace, ``outputs["tool_calls"]`` (an assistant message) or
  ``outputs`` if it is a list.
- ``retrieved_ids``: the documents of the top-level RETRIEVER spans (those not inside another
  retriever span), in order; a document's id is the first of ``id``, ``metadata.doc_uri``,
  ``metadata.id``, ``metadata.chunk_id``, ``doc_uri`` (a document without one is skipped).
  Without a trace: ``outputs`` if it is a list.
- ``retrieved_passages``: the chunks of the same top-level RETRIEVER spans (as MLflow's RAG
  scorers read them: ``extract_retrieval_context_from_trace``), each ``{"content", "span_id"}``
  (and ``doc_uri`` when the chunk has one), for a judge that attributes each claim to the span
  that supports it (:func:`with_passage_spans`).
- ``expected_ids``: ``expectations["expected_document_ids"]`` (a list of ids), else
  ``expectations["expected_retrieved_context"]`` (a list of ``{"doc_uri": ...}`` or ids, the
  Databricks agent-evaluation key).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DOC_ID_KEYS = ("id", "doc_uri", "chunk_id")
EXPECTED_ID_KEYS = ("expected_document_ids", "expected_retrieved_context")
#: Logical columns resolved here (``field_map`` paths ``trace.<name>``).
TRACE_FIELDS = ("tool_calls", "retrieved_ids")


def tool_calls_of(outputs: Any, trace: Any) -> Any:
    """The calls the agent made (see the module docstring)."""
    if trace is not None and getattr(trace, "data", None) is not None:
        from mlflow_llm_eval.genai_adapter.compat import tools_called

        return tools_called(trace)
    if isinstance(outputs, Mapping) and "tool_calls" in outputs:
        return outputs["tool_calls"] or []
    if isinstance(outputs, (list, tuple)):
        return list(outputs)
    return None


def _doc_id(document: Any) -> Any:
    if isinstance(document, (str, int)) and not isinstance(document, bool):
        return document
    if not isinstance(document, Mapping):
        return None
    metadata = document.get("metadata")
    if not isinstance(metadata, Mapping):
        metadata = {}
    for source, key in (
        (document, "id"),
        (metadata, "doc_uri"),
        (metadata, "id"),
        (metadata, "chunk_id"),
        (document, "doc_uri"),
    ):
        value = source.get(key)
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return value
    return None


def retrieved_ids_of(outputs: Any, trace: Any) -> Any:
    """Document ids retrieved, in rank order (see the module docstring)."""
    if trace is not None and getattr(trace, "data", None) is not None:
        from mlflow_llm_eval.genai_adapter.compat import span_documents

        found = (_doc_id(d) for _, documents in span_documents(trace) for d in documents)
        return [doc_id for doc_id in found if doc_id is not None]
    return list(outputs) if isinstance(outputs, (list, tuple)) else None


def expected_ids_of(expectations: Mapping[str, Any]) -> Any:
    """Relevant document ids of ``expectations`` (see the module docstring)."""
    for key in EXPECTED_ID_KEYS:
        value = expectations.get(key)
        if isinstance(value, (list, tuple)):
            return [_doc_id(v) if _doc_id(v) is not None else v for v in value]
        if value is not None:
            return value  # not a list: the metric reports the row as malformed
    return None


def retrieved_passages_of(trace: Any) -> list[dict[str, Any]] | None:
    """The RETRIEVER spans' chunks with their span ids (None without a trace or such spans)."""
    if trace is None or getattr(trace, "data", None) is None:
        return None
    from mlflow_llm_eval.genai_adapter.compat import retrieval_context_by_span

    chunks = [
        {**{k: v for k, v in chunk.items() if k in ("content", "doc_uri")}, "span_id": span_id}
        for span_id, found in retrieval_context_by_span(trace).items()
        for chunk in found
        if isinstance(chunk, Mapping) and isinstance(chunk.get("content"), str)
    ]
    return chunks or None


def with_passage_spans(
    metric: Any, row: dict[str, Any], trace: Any, field_map: Mapping[str, str]
) -> dict[str, Any]:
    """``row`` with its ``context`` as the trace's passages and their span ids, for a metric
    that cites passages (``cites_passages``: claim_faithfulness) when the context came from the
    trace (no ``field_map`` for it); the passages' text is the same, so is the score."""
    if not getattr(metric, "cites_passages", False) or "context" in field_map:
        return row
    passages = retrieved_passages_of(trace)
    return row if passages is None else {**row, "context": passages}


def trace_field(name: str, outputs: Any, trace: Any) -> Any:
    """``trace.<name>`` of a ``field_map`` path."""
    return (
        tool_calls_of(outputs, trace) if name == "tool_calls" else retrieved_ids_of(outputs, trace)
    )


def default_field_map(metric: Any) -> dict[str, str]:
    """Where a metric's columns come from on this door when the user gives no ``field_map``:
    a retriever metric reads the trace's retrieved ids and the expected ids."""
    from mlflow_llm_eval.function_metrics.retrieval import RetrievalMetric

    if isinstance(metric, RetrievalMetric):
        return {"predictions": "trace.retrieved_ids", "targets": "expectations.expected_ids"}
    return {}
