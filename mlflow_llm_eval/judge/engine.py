"""The judge layer on the request engine (:mod:`mlflow_llm_eval.chat`): answers become verdicts.

:class:`JudgeEngine` sends each row's messages through :class:`~mlflow_llm_eval.chat.ChatEngine`
(adaptive concurrency, pacing to rate limits, retries and budgets, circuit breaker, deadline;
see there) and adds what is judge-specific: an answer is parsed strictly (:mod:`.parse`); an
unusable one gets one repair request (the conversation continued with the reason); if the
repair answer is unusable too the row is retried like a failed request, and when attempts or
the retry budget run out it is ``parse_error`` with the raw answers.

    >>> from mlflow_llm_eval.judge.endpoints import Completion
    >>> class Echo:
    ...     identity, json_mode = "echo", False
    ...     def complete(self, messages, parameters):
    ...         return Completion('{"score": 3, "justification": "fine"}', 5, 4)
    >>> engine = JudgeEngine(Echo(), progress=False)
    >>> out = engine.run([[{"role": "user", "content": "q"}]] * 2, {}, (1, 5),
    ...                  repair=lambda m, text, why: m)
    >>> [o.verdict.score for o in out], engine.stats.requests
    ([3.0, 3.0], 2)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlflow_llm_eval.chat.engine import ChatEngine, Reply, Stats, Unusable
from mlflow_llm_eval.chat.limits import AdaptiveLimit
from mlflow_llm_eval.chat.types import ChatClient, Completion
from mlflow_llm_eval.judge.parse import AnswerError, Verdict, parse_answer

Messages = list[dict[str, Any]]

__all__ = ["AdaptiveLimit", "JudgeEngine", "Outcome", "Stats"]


@dataclass
class Outcome:
    """One row's result: a verdict, or a status with its reason; the raw answer text if any."""

    verdict: Verdict | None = None
    status: str = "ok"
    reason: str | None = None
    raw: str | None = None
    completion: Completion | None = None


class JudgeEngine:
    """``JudgeEngine(client, **options).run(messages_list, parameters, scale, repair=...)``;
    ``options`` are :class:`~mlflow_llm_eval.chat.ChatEngine`'s, ``.stats`` its accounting."""

    def __init__(self, client: ChatClient, **options: Any) -> None:
        options.setdefault("description", "judge")
        self._engine = ChatEngine(client, unusable_status="parse_error", **options)
        self.client = client

    @property
    def stats(self) -> Stats:
        return self._engine.stats

    def __getattr__(self, name: str) -> Any:  # the engine's settings (max_concurrency, ...)
        if name == "_engine":
            raise AttributeError(name)
        return getattr(self._engine, name)

    def run(
        self,
        requests: Sequence[Messages],
        parameters: Mapping[str, Any],
        scale: tuple[float, float],
        repair: Callable[[Messages, str, str], Messages],
    ) -> list[Outcome]:
        """Judge every request (one per row, in order); never raises for a row."""

        def check(completion: Completion, messages: Messages) -> Verdict:
            try:
                return parse_answer(completion.text, scale)
            except AnswerError as problem:
                text = completion.text or ""
                raise Unusable(str(problem), repair(messages, text, str(problem))) from None

        return [_outcome(r) for r in self._engine.run(requests, parameters, check)]


def accounting_of(stats: Stats) -> dict[str, float]:
    """A judge run's request accounting (extra aggregates summed over batches) from the
    request engine's statistics."""
    return {
        "judge_requests": stats.requests,
        "judge_retries": stats.retries,
        "judge_repairs": stats.repairs,
        "judge_cache_hits": stats.cache_hits,
        "prompt_tokens": stats.prompt_tokens,
        "completion_tokens": stats.completion_tokens,
    }


def _outcome(reply: Reply) -> Outcome:
    if reply.status == "ok":
        return Outcome(
            verdict=reply.value,
            raw=reply.completion.text if reply.completion else None,
            completion=reply.completion,
        )
    if reply.status == "parse_error":
        raws = " then ".join(repr(t) for t in reply.unusable)
        return Outcome(
            status="parse_error",
            raw=reply.completion.text if reply.completion else None,
            reason=f"{reply.reason} (after one repair request; {reply.gave_up}); raw "
            f"answers: " + raws[:4000],
        )
    return Outcome(status=reply.status, reason=reply.reason)
