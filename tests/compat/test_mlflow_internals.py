"""Pins of every MLflow name the package reads that is internal or newer than MLflow 3.0.0.

House rule: no private MLflow internals without a pinned test here, which ``.ci/mlflow-matrix``
runs on the oldest and newest MLflow 3.x. The scan below fails when a module of the package
imports an MLflow name from outside MLflow's public modules that is not pinned in
:data:`INTERNAL`; each pin checks the name exists (with the arguments we pass) from the version
given on, and is absent before it (so ``compat.SINCE`` stays true and the fallback path of
``genai_adapter/compat.py`` is the one exercised there). Each fallback is checked against
MLflow's own function on the versions that have it, and against hand-written values everywhere.
"""

from __future__ import annotations

import ast
import inspect
import json
from importlib import import_module
from pathlib import Path

import mlflow
import pytest
from mlflow.entities import Document, SpanType

from mlflow_llm_eval.genai_adapter import compat
from mlflow_llm_eval.genai_adapter.compat import mlflow_at_least, mlflow_has
from support.mlflow_versions import FEATURES, has, needs_mlflow

PACKAGE = Path(compat.__file__).parents[1]
TRACE_UTILS = compat.TRACE_UTILS

#: MLflow's public modules (its documented API): names imported from these need no pin.
PUBLIC = {
    "mlflow",
    "mlflow.data",
    "mlflow.deployments",
    "mlflow.entities",
    "mlflow.exceptions",
    "mlflow.genai",
    "mlflow.genai.scorers",
    "mlflow.metrics",
    "mlflow.metrics.genai",
    "mlflow.models",
    "mlflow.models.evaluation",
    "mlflow.pyfunc",
    "mlflow.tracking",
    "mlflow.transformers",
    "mlflow.types",
}

#: (module, name) -> (first MLflow version with it, the keyword arguments the package passes).
INTERNAL: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {
    # chat/deployments.py: one POST to MLflow's gateway / Databricks serving
    ("mlflow.utils.rest_utils", "http_request"): (
        "3.0.0",
        (
            "host_creds",
            "endpoint",
            "method",
            "max_retries",
            "timeout",
            "raise_on_status",
            "extra_headers",
        ),
    ),  # fmt: skip
    ("mlflow.deployments.databricks", "DatabricksDeploymentClient"): ("3.0.0", ()),
    ("mlflow.deployments.mlflow", "MlflowDeploymentClient"): ("3.0.0", ()),
    ("mlflow.utils.credentials", "get_default_host_creds"): ("3.0.0", ()),
    ("mlflow.utils.databricks_utils", "get_databricks_host_creds"): ("3.0.0", ()),
    # runner/tracking.py, spark_adapter/evaluate.py, the classic door's artifacts
    ("mlflow.utils.mlflow_tags", "MLFLOW_DATASET_CONTEXT"): ("3.0.0", ()),
    ("mlflow.utils.file_utils", "local_file_uri_to_path"): ("3.0.0", ()),
    ("mlflow.models.evaluation.artifacts", "JsonEvaluationArtifact"): ("3.0.0", ()),
    # genai_adapter/compat.py: feature-detected, with a fallback or a clear error below SINCE
    (TRACE_UTILS, "parse_inputs_to_str"): (compat.SINCE["parse_inputs_to_str"], ()),
    (TRACE_UTILS, "parse_outputs_to_str"): (compat.SINCE["parse_outputs_to_str"], ()),
    (TRACE_UTILS, "extract_retrieval_context_from_trace"): (
        compat.SINCE["extract_retrieval_context_from_trace"],
        (),
    ),
    (TRACE_UTILS, "extract_tools_called_from_trace"): (
        compat.SINCE["extract_tools_called_from_trace"],
        (),
    ),
    (TRACE_UTILS, "resolve_conversation_from_session"): (
        compat.SINCE["session-level scorers (resolve_conversation_from_session)"],
        (),
    ),
}


def _imported_mlflow_names() -> dict[tuple[str, str], list[str]]:
    """(module, name) of every ``from mlflow... import name`` in the package, and of every
    ``_mlflow_function("name")`` of compat.py, with the files that use it."""
    found: dict[tuple[str, str], list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        where = str(path.relative_to(PACKAGE.parent))
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "mlflow":
                for alias in node.names:
                    found.setdefault((str(node.module), alias.name), []).append(where)
            elif (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "_mlflow_function"
                and isinstance(node.args[0], ast.Constant)
            ):
                found.setdefault((TRACE_UTILS, str(node.args[0].value)), []).append(where)
    return found


def test_every_internal_mlflow_name_the_package_imports_is_pinned() -> None:
    found = _imported_mlflow_names()
    assert (TRACE_UTILS, "parse_outputs_to_str") in found  # the scan sees compat.py's look-ups
    unpinned = {k: v for k, v in found.items() if k[0] not in PUBLIC and k not in INTERNAL}
    assert not unpinned, f"pin these MLflow internals in {__file__}: {unpinned}"
    stale = [k for k in INTERNAL if k not in found]
    assert not stale, f"pins of names the package no longer uses: {stale}"


def test_every_public_mlflow_name_the_package_imports_exists_here() -> None:
    missing = [
        f"{module}.{name} ({files[0]})"
        for (module, name), files in _imported_mlflow_names().items()
        if module in PUBLIC and not hasattr(import_module(module), name)
    ]
    assert not missing, f"MLflow {mlflow.__version__} lacks: {missing}"


@pytest.mark.parametrize(("module", "name"), sorted(INTERNAL), ids="{0[1]}".format)
def test_pinned_internal_name(module: str, name: str) -> None:
    since, keywords = INTERNAL[(module, name)]
    value = getattr(import_module(module), name, None)
    if not mlflow_at_least(since):
        assert value is None, f"{module}.{name} exists before {since}: update compat.SINCE"
        return
    assert value is not None, f"MLflow {mlflow.__version__} has no {module}.{name}"
    if keywords:
        missing = set(keywords) - set(inspect.signature(value).parameters)
        assert not missing, f"{module}.{name} takes no {sorted(missing)} any more"


def test_feature_table_matches_this_mlflow() -> None:
    """compat.SINCE and the tests' own features, read from the installed MLflow itself."""
    import mlflow.genai.scorers as scorers
    from mlflow.genai.scorers import Scorer

    present = {
        "Scorer.register": "register" in vars(Scorer),  # not the metaclass's ABC register
        "Scorer.description": "description" in Scorer.model_fields,
        "session-level scorers (resolve_conversation_from_session)": hasattr(
            Scorer, "is_session_level_scorer"
        ),
        "resolve_conversation_from_session(include_tool_calls=)": "include_tool_calls"
        in inspect.signature(
            getattr(import_module(TRACE_UTILS), "resolve_conversation_from_session", len)
        ).parameters,
        "mlflow.genai.evaluate without Databricks": _has_module("mlflow.genai.evaluation.harness"),
        "is_rate_limit_error (harness retries HTTP 429)": _has_module(
            "mlflow.genai.evaluation.rate_limiter"
        ),
        "MLFLOW_SERVER_ENABLE_CUSTOM_SCORERS": hasattr(
            import_module("mlflow.environment_variables"), "MLFLOW_SERVER_ENABLE_CUSTOM_SCORERS"
        ),
    }
    for name in (
        "parse_inputs_to_str",
        "parse_outputs_to_str",
        "extract_retrieval_context_from_trace",
        "extract_tools_called_from_trace",
    ):
        present[name] = hasattr(import_module(TRACE_UTILS), name)
    present["mlflow.genai.scorers.ToolCallCorrectness"] = hasattr(scorers, "ToolCallCorrectness")
    present["span names kept as given (no _1, _2 on repeated names)"] = not hasattr(
        import_module("mlflow.tracing.utils"), "deduplicate_span_names_in_place"
    )
    assert set(present) == set(FEATURES)
    wrong = {f: (here, FEATURES[f]) for f, here in present.items() if here != has(f)}
    assert not wrong, f"MLflow {mlflow.__version__}: the feature table is wrong for {wrong}"


def _has_module(name: str) -> bool:
    try:
        import_module(name)
    except ImportError:
        return False
    return True


@needs_mlflow("is_rate_limit_error (harness retries HTTP 429)")
def test_our_rate_limit_error_is_one_mlflows_harness_retries() -> None:
    from mlflow.genai.evaluation.rate_limiter import is_rate_limit_error

    from mlflow_llm_eval.genai_adapter.scorer import RateLimitError

    assert is_rate_limit_error(RateLimitError("judge: rate_limited"))
    assert not is_rate_limit_error(ValueError("judge: malformed"))


def test_our_aggregations_are_ones_mlflow_computes() -> None:
    from mlflow.genai.scorers import scorer

    from mlflow_llm_eval.genai_adapter.scorer import MLFLOW_AGGREGATIONS

    annotation = str(inspect.signature(scorer).parameters["aggregations"].annotation)
    assert all(f"'{a}'" in annotation for a in MLFLOW_AGGREGATIONS), annotation


# --- the fallbacks agree with MLflow's functions --------------------------------------------

OUTPUTS = [
    "plain",
    None,
    ["first", "second"],
    {"choices": [{"message": {"role": "assistant", "content": "from choices"}}]},
    {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "last"}]},
    {
        "output": [
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "responses text"}],
            }
        ]
    },
    {"answer": 42},
]
OUTPUT_TEXTS = ["plain", " ", "first", "from choices", "last", "responses text", '{"answer": 42}']
INPUTS = [
    "plain",
    None,
    {"messages": [{"role": "user", "content": "only"}]},
    {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]},
    {"question": "q?", "n": 1},
]
INPUT_TEXTS = [
    "plain",
    " ",
    "only",
    json.dumps([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]),
    "{'question': 'q?', 'n': 1}",
]


@pytest.mark.parametrize(("value", "text"), list(zip(OUTPUTS, OUTPUT_TEXTS, strict=True)))
def test_outputs_fallback(value, text) -> None:
    assert compat.outputs_to_str(value) == text
    assert compat.parse_outputs_to_str(value) == text
    own = getattr(import_module(TRACE_UTILS), "parse_outputs_to_str", None)
    if own is not None:
        assert own(value) == text


@pytest.mark.parametrize(("value", "text"), list(zip(INPUTS, INPUT_TEXTS, strict=True)))
def test_inputs_fallback(value, text) -> None:
    assert compat.inputs_to_str(value) == text
    assert compat.parse_inputs_to_str(value) == text
    own = getattr(import_module(TRACE_UTILS), "parse_inputs_to_str", None)
    if own is not None:
        assert own(value) == text


@pytest.fixture()
def agent_trace(mlflow_store, monkeypatch):
    """A trace with a retriever (holding a nested retriever) and three tool calls, two of one
    tool (which MLflow 3.0-3.5 store as ``lookup_1``, ``lookup_2``)."""
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")

    @mlflow.trace(name="agent")
    def agent(question: str) -> str:
        with mlflow.start_span(name="retrieve", span_type=SpanType.RETRIEVER) as span:
            span.set_outputs(
                [
                    Document(page_content="Paris is in France.", metadata={"doc_uri": "d1"}),
                    Document(page_content="Lyon too.", metadata={}),
                ]
            )
            with mlflow.start_span(name="inner", span_type=SpanType.RETRIEVER) as inner:
                inner.set_outputs([Document(page_content="nested", metadata={"doc_uri": "zz"})])
        for city in ("Paris", "Lyon"):
            with mlflow.start_span(name="lookup", span_type=SpanType.TOOL) as tool:
                tool.set_inputs({"city": city})
        with mlflow.start_span(name="wrapper", span_type=SpanType.TOOL) as tool:
            tool.set_inputs({"call": {"tool_name": "weather"}})
        return "sunny"

    agent("weather in Paris?")
    trace_id = mlflow.get_last_active_trace_id()
    return mlflow.get_trace(trace_id)


CHUNKS = [{"content": "Paris is in France.", "doc_uri": "d1"}, {"content": "Lyon too."}]
CALLS = [
    {"name": "lookup", "arguments": {"city": "Paris"}},
    {"name": "lookup", "arguments": {"city": "Lyon"}},
    {"name": "weather", "arguments": {"call": {"tool_name": "weather"}}},
]


def test_retrieval_context_fallback(agent_trace) -> None:
    assert compat.retrieved_chunks(agent_trace) == CHUNKS
    assert compat.retrieval_context(agent_trace) == CHUNKS
    assert compat.retrieval_context(None) == []
    by_span = compat.retrieved_chunks_by_span(agent_trace)  # the claim judges' span attribution
    assert compat.retrieval_context_by_span(agent_trace) == by_span
    assert [c for chunks in by_span.values() for c in chunks] == CHUNKS
    spans = {s.span_id for s in agent_trace.data.spans if str(s.span_type) == "RETRIEVER"}
    assert set(by_span) <= spans


def test_tool_calls_fallback(agent_trace) -> None:
    assert compat.tool_spans_called(agent_trace) == CALLS
    assert compat.tools_called(agent_trace) == CALLS


def test_session_reader_is_mlflows_or_a_clear_error(agent_trace) -> None:
    feature = "resolve_conversation_from_session(include_tool_calls=)"
    if not mlflow_has(feature):
        with pytest.raises(compat.MlflowFeatureMissing, match=r"needs MLflow >= 3\.8\.0"):
            compat.conversation_of_session([agent_trace])
        return
    messages = compat.conversation_of_session([agent_trace])
    assert [m["role"] for m in messages] == ["user", "tool", "tool", "tool", "assistant"]
    assert "weather in Paris?" in messages[0]["content"] and messages[-1]["content"] == "sunny"
