"""An endpoint model under evaluation (``openai:/<model>``, ``endpoints:/<name>``) as a callable.

The callable takes the inputs DataFrame (as MLflow passes it to a model) and returns one answer
per row: the row is rendered through ``prompt_template`` (``str.format`` with the row's columns)
and sent as one user message through the same request engine as judges
(:class:`~mlflow_llm_eval.chat.ChatEngine`: adaptive concurrency up to ``max_concurrency``,
pacing to ``rpm``/``tpm`` and the endpoint's rate-limit headers, retries and budgets, circuit
breaker, ``deadline``), so keys come from the environment exactly as for judges. Its request
options are :class:`~mlflow_llm_eval.chat.RequestOptions` (each field by keyword, or
``request_options=``) with a model under test's defaults,
:data:`~mlflow_llm_eval.chat.MODEL_UNDER_TEST` (at most 64 in flight, starting at 8);
``concurrency`` and ``backoff`` are older names of ``max_concurrency`` and ``backoff_base``. A row that
still fails gets ``None``, and the returned :class:`ModelAnswers` (a list) keeps why: per row its
status (``ok``, ``rate_limited``, ``timeout``, ``endpoint_unavailable``, ...) and reason. Under
``mlflow.evaluate`` / ``le.evaluate`` these become the table's ``outputs/status`` and
``outputs/reason`` columns, and the metrics that needed the output mark the row
``model_failed``, not ``missing``. If every row fails (a bad key, an unknown model, an
unreachable endpoint) the call raises with the first reason; on Spark, where a call is one
batch of the run, a batch whose rows all failed for a passing reason (429s, timeouts) keeps
them as marked rows instead (:meth:`EndpointModel.answer`).

Answers are cached (the judges' on-disk cache, ``cache=``) only when the model is deterministic:
``temperature`` 0 and a ``seed`` in ``parameters``; otherwise a re-run asks again, as a new
sample of the model is what it measures.

    >>> from mlflow_llm_eval.chat import Completion
    >>> class Upper:
    ...     identity, json_mode = "upper", False
    ...     def complete(self, messages, parameters):
    ...         return Completion(messages[0]["content"].upper())
    >>> import pandas as pd
    >>> EndpointModel(Upper(), "Q: {q}")(pd.DataFrame({"q": ["hi", "yo"]}))
    ['Q: HI', 'Q: YO']
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import pandas as pd

from mlflow_llm_eval.chat import MODEL_UNDER_TEST, ChatClient, ChatEngine, Stats, make_client
from mlflow_llm_eval.chat.options import RequestOptions, UsesRequestOptions

_logger = logging.getLogger(__name__)


def deterministic(parameters: Mapping[str, Any]) -> bool:
    """Whether answers may be cached: temperature 0 and a seed."""
    return parameters.get("temperature") in (0, 0.0) and parameters.get("seed") is not None


#: Failures of a busy or briefly unreachable endpoint (not of the request itself).
PASSING = frozenset(
    {"rate_limited", "timeout", "server_error", "endpoint_unavailable", "deadline_exceeded"}
)


class ModelAnswers(list):
    """The answers of an endpoint model, one per row (``None`` where the row failed), with each
    row's ``statuses`` and ``reasons`` (``None`` for an answered row).

        >>> answers = ModelAnswers(["hi", None], ["ok", "timeout"], [None, "no answer in 5 s"])
        >>> answers == ["hi", None], answers.failed
        (True, {1: ('timeout', 'no answer in 5 s')})
    """

    def __init__(self, values: list[Any], statuses: list[str], reasons: list[str | None]) -> None:
        super().__init__(values)
        self.statuses, self.reasons = list(statuses), list(reasons)

    @property
    def failed(self) -> dict[int, tuple[str, str]]:
        """Row -> (status, reason) of every row that got no answer."""
        return {
            i: (s, r or s) for i, (s, r) in enumerate(zip(self.statuses, self.reasons)) if s != "ok"
        }


class EndpointModel(UsesRequestOptions):
    """Calls a chat endpoint once per row; see the module docstring."""

    def __init__(
        self,
        client: ChatClient,
        prompt_template: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        *,
        cache: bool | str | os.PathLike[str] = True,
        progress: bool | None = None,
        request_options: RequestOptions | None = None,
        **options: Any,
    ) -> None:
        self.client, self.prompt_template = client, prompt_template
        self.parameters = dict(parameters or {})
        #: Limits, retries, pacing (split per task by the Spark adapter); ``timeout`` is the
        #: client's, set by :meth:`from_uri`.
        self.request_options = RequestOptions.resolve(
            request_options, base=MODEL_UNDER_TEST, client_built=True, **options
        )
        self.cache, self.progress = cache, progress
        self.stats: Stats | None = None

    @property
    def concurrency(self) -> int:
        return self.max_concurrency

    @classmethod
    def from_uri(
        cls,
        uri: str,
        prompt_template: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        *,
        request_options: RequestOptions | None = None,
        **options: Any,
    ) -> EndpointModel:
        """Build the endpoint client (checks the environment's keys now, before any row);
        ``options``: ``cache``, ``progress`` and the request options (``timeout`` too)."""
        own = {k: options.pop(k) for k in ("cache", "progress") if k in options}
        resolved = RequestOptions.resolve(request_options, base=MODEL_UNDER_TEST, **options)
        client = make_client(uri, timeout=resolved.timeout)
        client.json_mode = False  # the model under test answers in free text
        return cls(client, prompt_template, parameters, request_options=resolved, **own)

    def prompt(self, row: Mapping[str, Any]) -> str:
        if self.prompt_template is None:
            values = list(row.values())
            return "" if not values else str(values[0])
        return self.prompt_template.format(**row)

    def _cache(self) -> tuple[Any, Any]:
        if not deterministic(self.parameters):
            return None, None
        from mlflow_llm_eval.judge.cache import cache_key, resolve_cache

        cache = resolve_cache(self.cache)
        identity = str(getattr(self.client, "identity", ""))
        return cache, lambda m: cache_key(identity, m, self.parameters, False, "model-under-test")

    def __call__(self, inputs: pd.DataFrame) -> ModelAnswers:
        return self.answer(inputs)

    def answer(self, inputs: pd.DataFrame, *, batch_of_many: bool = False) -> ModelAnswers:
        """One answer per row (see the module docstring). ``batch_of_many``: ``inputs`` is one
        batch of a larger run (a Spark partition), so a batch whose every row failed for a
        passing reason (:data:`PASSING`: 429s, timeouts, 5xx, an open breaker) keeps its rows,
        marked; a batch refused outright (a bad key, an unknown model) still raises."""
        rows = inputs.to_dict(orient="records")
        cache, key = self._cache()
        engine = ChatEngine(
            self.client,
            cache=cache,
            cache_key=key,
            progress=self.progress,
            description="model",
            request_options=self.request_options,
        )
        replies = engine.run(
            [[{"role": "user", "content": self.prompt(r)}] for r in rows], self.parameters
        )
        self.stats = engine.stats
        failures = [r for r in replies if r.status != "ok"]
        passing = batch_of_many and all(str(r.status) in PASSING for r in failures)
        if rows and len(failures) == len(rows) and not passing:
            raise RuntimeError(f"the endpoint failed on every row: {failures[0].reason}")
        for failure in failures:
            _logger.warning(
                "endpoint %s: a row got no answer: %s",
                getattr(self.client, "identity", "?"),
                failure.reason,
            )
        return ModelAnswers(
            [r.value if r.status == "ok" else None for r in replies],
            [str(r.status) for r in replies],
            [None if r.status == "ok" else r.reason for r in replies],
        )
