"""MLflow 3 door of the agent metrics: the trace fields they read (TOOL and RETRIEVER spans,
``expectations`` keys) and a pin of the internal MLflow helper we rely on."""

from __future__ import annotations

import mlflow
import pytest
from mlflow.entities import Document, SpanType

import mlflow_llm_eval as le
from mlflow_llm_eval.genai_adapter.trace_fields import expected_ids_of, retrieved_ids_of
from support.mlflow_versions import needs_mlflow


@pytest.fixture()
def sync_traces(mlflow_store, monkeypatch):
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")


def _rag_trace(ids: list[str]):
    @mlflow.trace(name="rag")
    def rag(question: str) -> str:
        with mlflow.start_span(name="retrieve", span_type=SpanType.RETRIEVER) as span:
            span.set_inputs({"query": question})
            span.set_outputs(
                [Document(page_content=f"text of {i}", metadata={"doc_uri": i}) for i in ids]
            )
            with mlflow.start_span(name="inner", span_type=SpanType.RETRIEVER) as inner:
                inner.set_outputs([Document(page_content="nested", metadata={"doc_uri": "zzz"})])
        return "answer"

    rag("q?")
    return mlflow.get_trace(mlflow.get_last_active_trace_id())


@needs_mlflow("extract_tools_called_from_trace")
def test_pinned_mlflow_helper_reads_tool_spans(sync_traces) -> None:
    """We call mlflow.genai.utils.trace_utils.extract_tools_called_from_trace (internal; older
    MLflow: genai_adapter/compat.py's fallback, pinned in tests/compat)."""
    from mlflow.genai.utils.trace_utils import extract_tools_called_from_trace

    @mlflow.trace
    def agent():
        with mlflow.start_span(name="lookup", span_type=SpanType.TOOL) as span:
            span.set_inputs({"city": "Paris"})

    agent()
    trace = mlflow.get_trace(mlflow.get_last_active_trace_id())
    calls = extract_tools_called_from_trace(trace)
    assert [(c.name, c.arguments) for c in calls] == [("lookup", {"city": "Paris"})]


def test_retrieved_ids_are_read_from_top_level_retriever_spans(sync_traces) -> None:
    trace = _rag_trace(["d1", "d3", "d2"])
    assert retrieved_ids_of(None, trace) == ["d1", "d3", "d2"]  # the nested span is skipped
    assert expected_ids_of({"expected_retrieved_context": [{"doc_uri": "d1"}, "d2"]}) == [
        "d1",
        "d2",
    ]
    assert expected_ids_of({"expected_document_ids": ["d9"]}) == ["d9"]


def test_retriever_scorers_on_a_trace(sync_traces) -> None:
    trace = _rag_trace(["doc1", "doc3", "doc2"])
    expectations = {"expected_document_ids": ["doc1", "doc2"]}
    assert le.scorers.precision_at_k(k=3)(trace=trace, expectations=expectations).value == 2 / 3
    assert le.scorers.recall_at_k(k=3)(trace=trace, expectations=expectations).value == 1.0
    ndcg = le.scorers.ndcg_at_k(k=3)(trace=trace, expectations=expectations)
    assert ndcg.value == pytest.approx(0.9197207891481877) and ndcg.name == "ndcg_at_3"
    assert le.scorers.mrr(k=3)(trace=trace, expectations=expectations).value == 1.0
    missing = le.scorers.precision_at_k()(trace=trace, expectations={})
    assert missing.value is None and missing.error.error_code == "MISSING"


@needs_mlflow("mlflow.genai.evaluate without Databricks")
def test_retriever_scorers_in_genai_evaluate(sync_traces) -> None:
    traces = [_rag_trace(["doc1", "doc3", "doc2"]), _rag_trace(["x", "doc2"])]
    data = [
        {"trace": t, "expectations": {"expected_document_ids": ["doc1", "doc2"]}} for t in traces
    ]
    result = mlflow.genai.evaluate(
        data=data, scorers=[le.scorers.recall_at_k(k=1), le.scorers.hit_rate(k=2)]
    )
    assert result.metrics["recall_at_1/mean"] == pytest.approx(0.25)
    assert result.metrics["hit_rate_at_2/mean"] == 1.0
