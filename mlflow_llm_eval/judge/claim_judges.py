"""Claim-level judges: one request per row asks for one verdict per item (a claim of the
answer, a retrieved passage, a sentence of the reference), the score is a formula of the
verdicts, and the justification names the items that failed.

- ``claim_faithfulness``: the answer's claims (sentences, :func:`.claims.split_claims`) against
  the context; score = supported claims / claims (Ragas ``Faithfulness``: "the number of claims
  in the response supported by the retrieved context divided by the total number of claims";
  DeepEval's ``FaithfulnessMetric`` likewise).
- ``context_precision``: each retrieved passage, in rank order, judged useful or not for
  answering the question as the reference does; score = mean of precision@k over the useful
  ranks k (Ragas ``LLMContextPrecisionWithReference``:
  ``sum(precision@k * v_k) / number of relevant items``; no useful passage -> 0; Ragas adds
  1e-10 to the denominator, so its all-useful score is 0.9999999999 where ours is 1).
- ``context_recall``: each sentence of the reference judged attributable to the context or
  not; score = attributable / sentences (Ragas ``LLMContextRecall``).

Requests go through the same engine, cache and delimiting as every judge
(:class:`~mlflow_llm_eval.chat.engine.ChatEngine`, :mod:`.cache`, :mod:`.claims`). The answer is
asked for with a JSON schema in the form ``structured=`` picks (:mod:`.structured`: ``"auto"``,
OpenAI structured outputs for ``openai:/`` and ``azure:/``; ``"openai"``, ``"vllm"`` guided
decoding, ``"ollama"``, ``"json_mode"``, ``"off"``); an endpoint that refuses the form (HTTP 400
naming its fields) gets the next form of the chain, learned once per endpoint. Any answer is read
strictly, then repaired locally, then asked again once (:func:`.claims.parse_verdicts`); an
answer still unusable ends the row ``parse_error`` (no fresh attempt: a row costs the same
requests whatever the batch or door it is sent in).

    >>> import os; os.environ.setdefault("OPENAI_API_KEY", "sk-doc")  # doctest: +ELLIPSIS
    '...'
    >>> judge = claim_faithfulness(model="openai:/gpt-4o-mini")
    >>> judge.key, judge.requires
    ('claim_faithfulness/v1', ('predictions', 'context'))
    >>> faithfulness_score([True, False, True, True])
    0.75
    >>> context_precision_score([True, False, True])  # (1/1 + 2/3) / 2
    0.8333333333333333
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mlflow_llm_eval.chat.engine import ChatEngine, Unusable
from mlflow_llm_eval.chat.options import RequestOptions, UsesRequestOptions
from mlflow_llm_eval.core.text import check_text, is_missing
from mlflow_llm_eval.core.types import (
    REQUEST_ACCOUNTING,
    SUM,
    Metric,
    MetricResult,
    RowBatch,
    RowScore,
    Status,
)
from mlflow_llm_eval.judge import claims
from mlflow_llm_eval.judge import structured as forms
from mlflow_llm_eval.judge.cache import cache_key, resolve_cache
from mlflow_llm_eval.judge.endpoints import make_client
from mlflow_llm_eval.judge.structured_run import run_in_forms
from mlflow_llm_eval.judge.metric import resolve_model
from mlflow_llm_eval.judge.parse import AnswerError
from mlflow_llm_eval.redaction import register_secrets

#: The answer lists one verdict per item: more room than a single score needs.
DEFAULT_PARAMETERS: dict[str, Any] = {"temperature": 0.0, "max_tokens": 2000, "top_p": 1.0}


def faithfulness_score(verdicts: Sequence[bool]) -> float:
    """Supported items / items (also context recall's formula)."""
    return sum(verdicts) / len(verdicts)


def context_precision_score(verdicts: Sequence[bool]) -> float:
    """Mean precision@k over the ranks k of the useful items (0 when none is useful)."""
    useful, total = 0, 0.0
    for k, verdict in enumerate(verdicts, 1):
        if verdict:
            useful += 1
            total += useful / k
    return total / useful if useful else 0.0


class ItemJudge(UsesRequestOptions, Metric):
    """A judge that asks for one verdict per item of a row (see the module docstring)."""

    version = "v1"
    greater_is_better = True
    value_kind = "bounded"
    value_range = (0.0, 1.0)
    #: Task text of the system message; the question that ends the user message.
    task: str
    question: str
    #: The formula of the verdicts; the label of a failed item in the justification.
    formula: Callable[[Sequence[bool]], float] = staticmethod(faithfulness_score)
    failed_label = "Unsupported"
    aggregate_merges = {**REQUEST_ACCOUNTING, "structured_refused": SUM}
    #: Whether each verdict names the context passages supporting the item (claim_faithfulness).
    cites_passages = False

    def __init__(
        self,
        *,
        model: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        structured: str | bool | None = "auto",
        cache: bool | str | os.PathLike[str] = True,
        progress: bool | None = None,
        extra_headers: Mapping[str, str] | None = None,
        proxy_url: str | None = None,
        request_options: RequestOptions | None = None,
        **options: Any,
    ) -> None:
        self.model = resolve_model(model, self.name)
        self.structured = forms.check_mode(structured)  # checked before anything else is built
        self.request_options = RequestOptions.resolve(request_options, **options)
        self.parameters = dict(DEFAULT_PARAMETERS if parameters is None else parameters)
        register_secrets(extra_headers)
        register_secrets(self.parameters)
        self.client = make_client(
            self.model, timeout=self.timeout, extra_headers=extra_headers, proxy_url=proxy_url
        )
        self.structured_forms = forms.chain(self.structured, bool(self.client.json_mode))
        self.cache, self.progress = cache, progress

    def __getstate__(self) -> dict[str, Any]:  # what the endpoint refused travels with the judge
        return {**self.__dict__, "_structured_known": forms.known(self.client.identity)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        known = state.pop("_structured_known", {})
        self.__dict__.update(state)
        forms.teach(self.client.identity, known)

    # -- what a row is --------------------------------------------------------------------------
    def row_data(self, row: Mapping[str, Any]) -> tuple[list[str], dict[str, str]] | RowScore:
        """(items, delimited values incl. the numbered items) of one valid row, or why not."""
        raise NotImplementedError

    def _text(self, row: Mapping[str, Any], column: str) -> str | RowScore:
        checked = check_text(row[column], column=column)
        if checked.unscored is not None:
            return checked.unscored
        assert checked.text is not None  # check_text gives the text or why not
        return checked.text

    def _sentences_and_context(
        self, row: Mapping[str, Any], column: str, empty: str
    ) -> tuple[list[str], list[str]] | RowScore:
        """``column``'s text split into claims, and the context's passages (or why not)."""
        text = self._text(row, column)
        if isinstance(text, RowScore):
            return text
        context = self._passages(row)
        if isinstance(context, RowScore):
            return context
        items = claims.split_claims(text)
        if not items:
            return RowScore.unscored(Status.EMPTY, empty)
        return items, context

    def _passages(self, row: Mapping[str, Any]) -> list[str] | RowScore:
        value = row["context"]
        if value is None or (isinstance(value, float) and is_missing(value)):
            return RowScore.unscored(Status.MISSING, "context is missing (None/NaN)")
        found = claims.passages(value)
        if found is None:
            return RowScore.unscored(
                Status.EMPTY if isinstance(value, (str, list)) else Status.NOT_TEXT,
                "context has no passage of text",
            )
        return found

    # -- scoring ----------------------------------------------------------------------------------
    def score_batch(self, rows: RowBatch) -> MetricResult:
        n = len(next(iter(rows.values())))
        columns = [c for c in self.requires + self.optional if c in rows]
        out: list[RowScore | None] = [None] * n
        todo: list[tuple[int, list[str], list[dict[str, str]], list[str | None]]] = []
        for i in range(n):
            row = {c: rows[c][i] for c in columns} | {
                c: None for c in self.optional if c not in rows
            }
            data = self.row_data(row)
            if isinstance(data, RowScore):
                out[i] = data
            else:
                items, values = data
                spans = claims.passage_sources(row["context"]) if self.cites_passages else []
                messages = claims.render(self.task, self.question, values, self.answer_format)
                todo.append((i, items, messages, spans))
        accounting: dict[str, float] = {}
        replies = self._ask(
            [t[2] for t in todo], [(len(t[1]), len(t[3])) for t in todo], accounting
        )
        for (i, items, _, spans), reply in zip(todo, replies, strict=True):
            out[i] = self._row(items, reply, spans)
        result = MetricResult.from_rows([r for r in out if r is not None])
        result.extra_aggregates.update(accounting)
        return result

    @property
    def answer_format(self) -> str:
        return claims.CITED_ANSWER_FORMAT if self.cites_passages else claims.ANSWER_FORMAT

    def _cache_key(self, messages: list[dict[str, Any]]) -> str:
        """The answer's cache key: the endpoint, messages and parameters, not the form the
        schema was asked in (an answer is reused whatever form got it)."""
        return cache_key(
            self.client.identity, messages, self.parameters, True, claims.ITEM_PROMPT_VERSION
        )

    def _engine(self, client: Any) -> ChatEngine:
        return ChatEngine(
            client,
            request_options=self.request_options,
            progress=self.progress,
            description=f"judge {self.key}",
            cache=resolve_cache(self.cache),
            unusable_status="parse_error",
            retry_unusable=False,  # one repair, then parse_error: the same cost on every door
            cache_key=self._cache_key,
        )

    def _ask(
        self,
        requests: list[list[dict[str, str]]],
        counts: list[tuple[int, int]],
        accounting: dict[str, float],
    ) -> list[Any]:
        """One reply per request; ``counts``: (items, cited passages) of each request."""
        if not requests:
            return []
        # a repair conversation starts with the row's own system message object
        count_of = {id(m[0]): c for m, c in zip(requests, counts, strict=True)}

        def check(completion: Any, messages: list[dict[str, Any]]) -> list[Any]:
            n, k = count_of[id(messages[0])]
            try:
                return claims.parse_verdicts(completion.text, n, k)
            except AnswerError as problem:
                text, why = completion.text or "", str(problem)
                raise Unusable(
                    why, claims.repair(messages, text, why, self.answer_format)
                ) from None

        return run_in_forms(
            self.client,
            self.structured_forms,
            requests,
            self.parameters,
            check,
            schema=claims.verdicts_schema(self.cites_passages),
            name=self.name,
            make_engine=self._engine,
            cache=resolve_cache(self.cache),
            cache_key=self._cache_key,
            accounting=accounting,
        )

    def _row(self, items: list[str], reply: Any, spans: list[str | None]) -> RowScore:
        if reply.status != "ok":
            return RowScore.unscored(reply.status, reply.reason or reply.status)
        verdicts = [v[0] for v in reply.value]
        failed = [
            f"[{i}] {items[i - 1]!r} ({v[1]})" if v[1] else f"[{i}] {items[i - 1]!r}"
            for i, v in enumerate(reply.value, 1)
            if not v[0]
        ]
        summary = f"{sum(verdicts)} of {len(items)} item(s) passed"
        justification = summary + (
            f". {self.failed_label}: " + "; ".join(failed) if failed else "."
        )
        if self.cites_passages:  # the last line: each claim's passages and RETRIEVER spans
            justification += "\n" + claims.sources_line([v[2] for v in reply.value], spans)
        return RowScore.ok(type(self).formula(verdicts), justification)

    def feedback_metadata(self, score: RowScore) -> dict[str, str]:
        """What an MLflow 3 Feedback adds to its metadata for this row: ``llm_eval.claim_sources``,
        JSON of claim number -> ``{"passages", "span_ids"}`` (supported claims' supporting
        passages and their RETRIEVER span ids; unsupported claims none)."""
        import json

        found = claims.sources_of(score.justification) if self.cites_passages else None
        return {} if found is None else {"llm_eval.claim_sources": json.dumps(found)}

    def metadata(self) -> dict[str, Any]:
        return {
            **super().metadata(),
            "judge_model": self.model,
            "parameters": self.parameters,
            "structured": self.structured,
            "prompt_format": claims.ITEM_PROMPT_VERSION,
        }


class ClaimFaithfulness(ItemJudge):
    """Supported claims of the answer / claims (see the module docstring)."""

    name = "claim_faithfulness"
    requires = ("predictions", "context")
    cites_passages = True
    description = "share of the answer's claims supported by the context (one verdict per claim)"
    task = (
        "You will be given a context (numbered passages) and a numbered list of claims taken "
        "from an answer. For each claim decide whether the context supports it: 'yes' if the "
        "context states it or it follows directly from the context, 'no' if the context "
        "contradicts it or does not mention it. Judge each claim only against the context, "
        "not against your own knowledge."
    )
    question = "For each numbered claim, is it supported by the context?"

    def row_data(self, row):
        found = self._sentences_and_context(
            row, "predictions", "the answer holds no claim (no sentence)"
        )
        if isinstance(found, RowScore):
            return found
        items, context = found
        return items, {"context": claims.numbered(context), "claims": claims.numbered(items)}


class ContextPrecision(ItemJudge):
    """Ragas context precision with a reference (see the module docstring)."""

    name = "context_precision"
    requires = ("inputs", "context", "targets")
    description = "rank-weighted share of retrieved passages useful for the reference answer"
    formula = staticmethod(context_precision_score)
    failed_label = "Not useful"
    task = (
        "You will be given a question, its reference answer and a numbered list of passages "
        "retrieved for the question, in rank order. For each passage decide whether it was "
        "useful in arriving at the reference answer: 'yes' if it holds information the "
        "reference answer uses, 'no' otherwise."
    )
    question = "For each numbered passage, was it useful in arriving at the reference answer?"

    def row_data(self, row):
        question, reference = self._text(row, "inputs"), self._text(row, "targets")
        for value in (question, reference):
            if isinstance(value, RowScore):
                return value
        items = self._passages(row)
        if isinstance(items, RowScore):
            return items
        return items, {
            "question": question,
            "reference": reference,
            "passages": claims.numbered(items),
        }


class ContextRecall(ItemJudge):
    """Ragas context recall (see the module docstring)."""

    name = "context_recall"
    requires = ("context", "targets")
    optional = ("inputs",)
    description = "share of the reference answer's sentences attributable to the context"
    failed_label = "Not in the context"
    task = (
        "You will be given a context (numbered passages) and a numbered list of sentences of "
        "a reference answer. For each sentence decide whether it can be attributed to the "
        "context: 'yes' if the context holds the information it states, 'no' otherwise."
    )
    question = "For each numbered sentence, can it be attributed to the context?"

    def row_data(self, row):
        found = self._sentences_and_context(row, "targets", "the reference holds no sentence")
        if isinstance(found, RowScore):
            return found
        items, context = found
        values = {"context": claims.numbered(context), "sentences": claims.numbered(items)}
        if isinstance(row.get("inputs"), str) and row["inputs"].strip():
            values = {"question": row["inputs"], **values}
        return items, values


def claim_faithfulness(**options: Any) -> ClaimFaithfulness:
    """Claim-level faithfulness judge (options: model, parameters, structured, cache, ...)."""
    return ClaimFaithfulness(**options)


def context_precision(**options: Any) -> ContextPrecision:
    """Ragas-style context precision judge."""
    return ContextPrecision(**options)


def context_recall(**options: Any) -> ContextRecall:
    """Ragas-style context recall judge."""
    return ContextRecall(**options)


METRICS: dict[str, Callable[..., Metric]] = {
    "claim_faithfulness": claim_faithfulness,
    "context_precision": context_precision,
    "context_recall": context_recall,
}
