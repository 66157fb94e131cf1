"""Structured answers of the claim judges: the request body the real client sends for each
``structured=`` form, the fallback chain when a server refuses a form, and request accounting
that does not depend on how the rows are batched (one batch, Spark partitions, scorer batches)."""

from __future__ import annotations

import json
import pickle

import pytest
from agents.conftest import SchemaRefusingOpenAI
from agents.test_claim_judges import ANSWERS, CONTEXT, scripted

from mlflow_llm_eval.judge import structured
from mlflow_llm_eval.judge.claim_judges import claim_faithfulness, context_recall
from mlflow_llm_eval.judge.claims import VERDICTS

#: Twelve judgeable rows (claims of one to three sentences).
ROWS = {"predictions": (ANSWERS * 4), "context": [CONTEXT] * 12}
EXPECTED = [2 / 3, 0.5, 0.0] * 4


def batched(judge, size: int) -> tuple[list[float], dict[str, float]]:
    """Score ROWS in batches of ``size`` (as Spark partitions or scorer batches do): the
    scores and the summed accounting."""
    scores: list[float] = []
    totals: dict[str, float] = {}
    for start in range(0, 12, size):
        result = judge.score_batch({k: v[start : start + size] for k, v in ROWS.items()})
        scores += result.scores
        for k, v in result.extra_aggregates.items():
            totals[k] = totals.get(k, 0) + v
    return scores, totals


PAID = ("judge_requests", "judge_retries", "prompt_tokens", "completion_tokens")


def test_unusable_answers_cost_the_same_in_any_batching(judge_env) -> None:
    """A judge that never gives the verdicts: one repair per row, then parse_error; the rows'
    requests and tokens do not depend on the batch size (it used to be a per-run retry budget
    of at least 10: 26 requests in one batch of 8 rows, 36 over two Spark partitions)."""
    judge_env.responder = lambda prompt: json.dumps({"score": 3, "justification": "no"})
    judge = claim_faithfulness(model="openai:/gpt-4o-mini", cache=False, progress=False)
    runs = {size: batched(judge, size) for size in (12, 5, 3, 1)}
    for size, (scores, totals) in runs.items():
        assert all(s != s for s in scores), size  # NaN: parse_error
        assert totals["judge_requests"] == 24 and totals["judge_retries"] == 0, size
    assert {tuple(totals[k] for k in PAID) for _, totals in runs.values()} == {
        tuple(runs[12][1][k] for k in PAID)
    }
    assert len(judge_env.requests) == 4 * 24


def test_a_refused_schema_is_learned_once_per_endpoint(tmp_path, monkeypatch) -> None:
    """Batches after the first send no schema the endpoint refused; the one refused request is
    ``structured_refused``, not a judge request: requests and tokens equal one batch's."""
    structured.forget()
    with SchemaRefusingOpenAI(responder=scripted("claims", "context")) as server:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-agents-test-key")
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        judge = claim_faithfulness(model="openai:/gpt-4o-mini", cache=False, progress=False)
        scores, split = batched(judge, 5)
        formats = list(server.formats)
        structured.forget()
        one_scores, whole = batched(judge, 12)
    assert scores == one_scores == EXPECTED
    assert formats == ["json_schema"] + ["json_object"] * 12  # a probe row, refused once
    assert split["structured_refused"] == whole["structured_refused"] == 1
    assert {k: split[k] for k in PAID} == {k: whole[k] for k in PAID}
    assert split["judge_requests"] == 12


def test_batches_running_at_once_learn_the_refusal_once(tmp_path, monkeypatch) -> None:
    """Four batches in threads (as MLflow 3 scorer batches run): one probe is refused, the
    others wait for what it learned."""
    from concurrent.futures import ThreadPoolExecutor

    structured.forget()
    with SchemaRefusingOpenAI(responder=scripted("claims", "context")) as server:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-agents-test-key")
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        judge = claim_faithfulness(model="openai:/gpt-4o-mini", cache=False, progress=False)
        parts = [{k: v[s : s + 3] for k, v in ROWS.items()} for s in range(0, 12, 3)]
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(judge.score_batch, parts))
        formats = list(server.formats)
    assert [x for r in results for x in r.scores] == EXPECTED
    assert sum(r.extra_aggregates.get("structured_refused", 0) for r in results) == 1
    assert sum(r.extra_aggregates["judge_requests"] for r in results) == 12
    assert formats.count("json_schema") == 1 and formats.count("json_object") == 12


def test_a_shipped_judge_carries_what_the_endpoint_refused(tmp_path, monkeypatch) -> None:
    """Pickled after learning (as Spark ships it), the judge on a fresh process's state sends
    no refused schema again."""
    structured.forget()
    with SchemaRefusingOpenAI(responder=scripted("claims", "context")) as server:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-agents-test-key")
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        judge = claim_faithfulness(model="openai:/gpt-4o-mini", cache=False, progress=False)
        judge.score_batch({k: v[:1] for k, v in ROWS.items()})
        blob = pickle.dumps(judge)
        structured.forget()  # an executor's process knows nothing
        server.formats.clear()
        result = pickle.loads(blob).score_batch({k: v[:3] for k, v in ROWS.items()})
        formats = list(server.formats)
    assert formats == ["json_object"] * 3 and "structured_refused" not in result.extra_aggregates


@pytest.mark.parametrize(
    ("mode", "fields"),
    [
        (
            "openai",
            {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "context_recall", "strict": True, "schema": VERDICTS},
                }
            },
        ),
        ("vllm", {"guided_json": VERDICTS, "structured_outputs": {"json": VERDICTS}}),
        (
            "ollama",
            {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "context_recall", "schema": VERDICTS},
                }
            },
        ),
        ("json_mode", {"response_format": {"type": "json_object"}}),
        ("off", {}),
    ],
)
def test_each_mode_sends_its_form(judge_env, mode, fields) -> None:
    judge_env.responder = scripted("sentences", "context")
    judge = context_recall(
        model="openai:/gpt-4o-mini", structured=mode, cache=False, progress=False
    )
    result = judge.score_batch(
        {"context": [CONTEXT], "targets": ["Paris is the capital of France. Berlin is big."]}
    )
    assert result.scores == [0.5]
    body = judge_env.requests[0].body
    extra = set(body) - {"model", "messages", "temperature", "max_tokens", "top_p"}
    assert {k: body[k] for k in extra} == fields


@pytest.mark.parametrize(
    ("mode", "refuse", "formats"),
    [
        ("vllm", ("guided_json",), ["guided_json", "json_object", "json_object"]),
        ("ollama", ("json_schema",), ["json_schema", "json_object", "json_object"]),
        # a server without JSON mode either: the client drops it and asks again (plain + repair);
        # the rows in flight when it learns that were sent in JSON mode too (1 or 2 of them)
        ("openai", ("json_schema", "json_object"), ["json_schema", "json_object", None, None]),
    ],
)
def test_a_refused_form_falls_back_along_the_chain(monkeypatch, mode, refuse, formats) -> None:
    structured.forget()
    with SchemaRefusingOpenAI(responder=scripted("claims", "context"), refuse=refuse) as server:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-agents-test-key")
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        judge = claim_faithfulness(
            model="openai:/gpt-4o-mini", structured=mode, cache=False, progress=False
        )
        result = judge.score_batch({k: v[:2] for k, v in ROWS.items()})
        sent = list(server.formats)
    assert result.scores == EXPECTED[:2]
    if sent.count("json_object") == 2 and formats.count(None) == 2:
        formats = formats[:2] + ["json_object"] + formats[2:]
    assert sorted(sent, key=str) == sorted(formats, key=str) and sent[0] == formats[0]
    assert result.extra_aggregates["structured_refused"] == 1


def test_cached_rows_are_not_probed(judge_env) -> None:
    """A re-run answered from the cache sends nothing, whatever form the answers came in."""
    judge_env.responder = scripted("claims", "context")
    judge = claim_faithfulness(model="openai:/gpt-4o-mini", progress=False)
    first = judge.score_batch({k: v[:3] for k, v in ROWS.items()})
    structured.forget()
    again = claim_faithfulness(
        model="openai:/gpt-4o-mini", structured="json_mode", progress=False
    ).score_batch({k: v[:3] for k, v in ROWS.items()})
    assert first.scores == again.scores == EXPECTED[:3]
    assert len(judge_env.requests) == 3 and again.extra_aggregates["judge_cache_hits"] == 3


def test_the_mode_is_checked_when_the_judge_is_built(judge_env) -> None:
    with pytest.raises(ValueError, match="structured='xml': use one of 'auto', 'openai'"):
        claim_faithfulness(model="openai:/gpt-4o-mini", structured="xml")
    assert claim_faithfulness(model="openai:/gpt-4o-mini").metadata()["structured"] == "auto"
