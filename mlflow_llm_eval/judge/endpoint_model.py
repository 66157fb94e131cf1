"""An endpoint model under evaluation (``openai:/<model>``, ``endpoints:/<name>``) as a callable.

The callable takes the inputs DataFrame (as MLflow passes it to a model) and returns one answer
per row: the row is rendered through ``prompt_template`` (``str.format`` with the row's columns)
and sent as one user message through the same request engine as judges
(:class:`~mlflow_llm_eval.chat.ChatEngine`: adaptive concurrency up to ``max_concurrency``,
pacing to ``rpm``/``tpm`` and the endpoint's rate-limit headers, retries and budgets, circuit
breaker, ``deadline``), so keys come from the environment exactly as for judges. A row that
still fails gets ``None`` (its metrics mark it ``missing``). If every row fails (a bad key, an
unknown model, an unreachable endpoint) the call raises with the first reason.

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

from mlflow_llm_eval.chat import ChatClient, ChatEngine, make_client

_logger = logging.getLogger(__name__)


def deterministic(parameters: Mapping[str, Any]) -> bool:
    """Whether answers may be cached: temperature 0 and a seed."""
    return parameters.get("temperature") in (0, 0.0) and parameters.get("seed") is not None


class EndpointModel:
    """Calls a chat endpoint once per row; see the module docstring."""

    def __init__(
        self,
        client: ChatClient,
        prompt_template: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        *,
        concurrency: int | None = None,
        max_concurrency: int = 64,
        initial_concurrency: int = 8,
        max_attempts: int = 6,
        backoff: float = 0.5,
        rpm: float | None = None,
        tpm: float | None = None,
        deadline: float | None = None,
        cache: bool | str | os.PathLike[str] = True,
        progress: bool | None = None,
    ) -> None:
        self.client, self.prompt_template = client, prompt_template
        self.parameters = dict(parameters or {})
        #: Ceiling of the adaptive concurrency (``concurrency`` is its older name).
        self.max_concurrency = int(concurrency if concurrency is not None else max_concurrency)
        self.initial_concurrency = min(int(initial_concurrency), self.max_concurrency)
        #: Requests / tokens per minute to stay under; split per task by the Spark adapter.
        self.rpm, self.tpm, self.deadline = rpm, tpm, deadline
        self.max_attempts, self.backoff = max_attempts, backoff
        self.cache, self.progress = cache, progress
        self.stats = None
        ChatEngine(client, **self._options())  # validates the options now

    @property
    def concurrency(self) -> int:
        return self.max_concurrency

    @classmethod
    def from_uri(cls, uri: str, prompt_template: str | None = None,
                 parameters: Mapping[str, Any] | None = None, *, timeout: float = 60.0,
                 **options: Any) -> EndpointModel:
        """Build the endpoint client (checks the environment's keys now, before any row)."""
        client = make_client(uri, timeout=timeout)
        client.json_mode = False  # the model under test answers in free text
        return cls(client, prompt_template, parameters, **options)

    def _options(self) -> dict[str, Any]:
        return dict(max_concurrency=self.max_concurrency,
                    initial_concurrency=self.initial_concurrency, max_attempts=self.max_attempts,
                    backoff_base=self.backoff, rpm=self.rpm, tpm=self.tpm, deadline=self.deadline,
                    progress=self.progress, description="model")

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

    def __call__(self, inputs: pd.DataFrame) -> list[str | None]:
        rows = inputs.to_dict(orient="records")
        cache, key = self._cache()
        engine = ChatEngine(self.client, cache=cache, cache_key=key, **self._options())
        replies = engine.run([[{"role": "user", "content": self.prompt(r)}] for r in rows],
                             self.parameters)
        self.stats = engine.stats
        failures = [r for r in replies if r.status != "ok"]
        if rows and len(failures) == len(rows):
            raise RuntimeError(f"the endpoint failed on every row: {failures[0].reason}")
        for failure in failures:
            _logger.warning("endpoint %s: a row got no answer: %s",
                            getattr(self.client, "identity", "?"), failure.reason)
        return [r.value if r.status == "ok" else None for r in replies]
