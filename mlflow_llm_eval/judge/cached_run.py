"""Requests of one run through the judges' cache and engine: cached answers first, the rest sent.

The path every judge-like caller shares (the pairwise judge, prompt stereotyping's completions
endpoint): a :class:`~mlflow_llm_eval.judge.engine.JudgeEngine` (limits, pacing, retries, budgets, one
repair) with the answer cache (:mod:`.cache`): cached answers are not sent again, new ones are
stored as they arrive.

    >>> from mlflow_llm_eval.judge.endpoints import Completion
    >>> class Echo:
    ...     identity, json_mode = "echo", False
    ...     def complete(self, messages, parameters):
    ...         return Completion('{"score": 2, "justification": "tie"}', 3, 2)
    >>> outcomes, accounting = run_cached(Echo(), [[{"role": "user", "content": "q"}]], {},
    ...     (1, 3), lambda m, text, why: m, cache=False, prompt_version="doc", progress=False)
    >>> outcomes[0].verdict.score, accounting["judge_requests"], accounting["judge_cache_hits"]
    (2.0, 1, 0)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mlflow_llm_eval.judge.cache import cache_key, resolve_cache
from mlflow_llm_eval.judge.endpoints import JudgeClient
from mlflow_llm_eval.judge.engine import JudgeEngine, Messages, Outcome, accounting_of


def run_cached(
    client: JudgeClient,
    requests: Sequence[Messages],
    parameters: Mapping[str, Any],
    scale: tuple[float, float],
    repair: Callable[[Messages, str, str], Messages],
    *,
    cache: bool | str | os.PathLike[str],
    prompt_version: str,
    description: str = "judge",
    **engine_options: Any,
) -> tuple[list[Outcome], dict[str, float]]:
    """One outcome per request, in order, and the run's accounting (requests, cache hits, ...)."""
    engine = JudgeEngine(
        client,
        description=description,
        cache=resolve_cache(cache),
        cache_key=lambda m: cache_key(
            client.identity, m, parameters, client.json_mode, prompt_version
        ),
        **engine_options,
    )
    outcomes = engine.run(list(requests), parameters, scale, repair) if requests else []
    accounting = accounting_of(engine.stats)
    return [o or Outcome(status="error", reason="no outcome") for o in outcomes], accounting
