"""An endpoint model under evaluation (``openai:/<model>``, ``endpoints:/<name>``) as a callable.

The callable takes the inputs DataFrame (as MLflow passes it to a model) and returns one answer
per row: the row is rendered through ``prompt_template`` (``str.format`` with the row's columns)
and sent as one user message through the judge package's endpoint clients, so keys come from
the environment exactly as for judges. Rate limits, timeouts and 5xx are retried (honouring
``Retry-After``); a row that still fails gets ``None`` (its metrics mark it ``missing``). If every
row fails, or the same non-retryable error (bad key, unknown model) repeats, the call raises and
the model's evaluation fails with that reason.

    >>> from mlflow_llm_eval.judge.endpoints import Completion
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
import random
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pandas as pd

from mlflow_llm_eval.judge.endpoints import JudgeCallError, JudgeClient, make_client

_logger = logging.getLogger(__name__)


class EndpointModel:
    """Calls a chat endpoint once per row; see the module docstring."""

    def __init__(
        self,
        client: JudgeClient,
        prompt_template: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        *,
        concurrency: int = 4,
        max_attempts: int = 6,
        backoff: float = 0.5,
    ) -> None:
        self.client, self.prompt_template = client, prompt_template
        self.parameters = dict(parameters or {})
        self.concurrency, self.max_attempts, self.backoff = concurrency, max_attempts, backoff
        self._lock = threading.Lock()
        self._fatal: dict[str, int] = {}

    @classmethod
    def from_uri(cls, uri: str, prompt_template: str | None = None,
                 parameters: Mapping[str, Any] | None = None, *, timeout: float = 60.0,
                 concurrency: int = 4, max_attempts: int = 6) -> EndpointModel:
        """Build the endpoint client (checks the environment's keys now, before any row)."""
        client = make_client(uri, timeout=timeout)
        client.json_mode = False  # the model under test answers in free text
        return cls(client, prompt_template, parameters, concurrency=concurrency,
                   max_attempts=max_attempts)

    def prompt(self, row: Mapping[str, Any]) -> str:
        if self.prompt_template is None:
            values = list(row.values())
            return "" if not values else str(values[0])
        return self.prompt_template.format(**row)

    def __call__(self, inputs: pd.DataFrame) -> list[str | None]:
        rows = inputs.to_dict(orient="records")
        workers = max(1, min(self.concurrency, len(rows)))
        with ThreadPoolExecutor(workers, thread_name_prefix="llm-eval-endpoint") as pool:
            answers = list(pool.map(self._answer, rows))
        failures = [a for a in answers if isinstance(a, Exception)]
        if rows and len(failures) == len(rows):
            raise RuntimeError(f"the endpoint failed on every row: {failures[0]}")
        for failure in failures:
            _logger.warning("endpoint %s: a row got no answer: %s", self.client.identity, failure)
        return [None if isinstance(a, Exception) else a for a in answers]

    def _answer(self, row: Mapping[str, Any]) -> str | None | Exception:
        messages = [{"role": "user", "content": self.prompt(row)}]
        for attempt in range(1, self.max_attempts + 1):
            fatal = self._fatal_error()
            if fatal is not None:
                raise RuntimeError(f"endpoint request failed: {fatal}")
            try:
                return self.client.complete(messages, self.parameters).text
            except JudgeCallError as exc:
                if not exc.retryable:
                    self._note_fatal(str(exc))
                    return exc
                if attempt == self.max_attempts:
                    return exc
                pause = random.uniform(0, self.backoff * 2 ** (attempt - 1))
                time.sleep(max(pause, exc.retry_after or 0.0))
        return None  # pragma: no cover - the loop always returns

    def _note_fatal(self, text: str) -> None:
        with self._lock:
            self._fatal[text] = self._fatal.get(text, 0) + 1

    def _fatal_error(self) -> str | None:
        with self._lock:
            return next((text for text, n in self._fatal.items() if n >= 3), None)
