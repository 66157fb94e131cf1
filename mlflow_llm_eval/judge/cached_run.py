"""Requests of one run through the judges' cache and engine: cached answers first, the rest sent.

The path every judge-like caller shares (the pairwise judge, prompt stereotyping's completions
endpoint): look each request up in the answer cache (:mod:`.cache`), send the misses through a
:class:`~mlflow_llm_eval.judge.engine.JudgeEngine` (limits, retries, budgets, one repair) and
store each parsed answer as soon as it arrives.

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

from mlflow_llm_eval.judge.cache import CachedAnswer, cache_key, resolve_cache
from mlflow_llm_eval.judge.endpoints import Completion, JudgeClient
from mlflow_llm_eval.judge.engine import JudgeEngine, Messages, Outcome
from mlflow_llm_eval.judge.parse import AnswerError, parse_answer


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
    store_in = resolve_cache(cache)
    keys = [cache_key(client.identity, m, parameters, client.json_mode, prompt_version)
            for m in requests]
    outcomes: list[Outcome | None] = [None] * len(requests)
    hits = store_in.get_many(keys) if store_in is not None and keys else {}
    for i, key in enumerate(keys):
        if key in hits:
            try:
                outcomes[i] = Outcome(verdict=parse_answer(hits[key].text, scale),
                                      raw=hits[key].text)
            except AnswerError:  # stored under another scale: ask again
                pass
    todo = [i for i, o in enumerate(outcomes) if o is None]

    def store(j: int, completion: Completion) -> None:
        if store_in is not None and completion.text is not None:
            store_in.put(keys[todo[j]], CachedAnswer(completion.text, completion.prompt_tokens,
                                                     completion.completion_tokens))

    engine = JudgeEngine(client, description=description, on_answer=store, **engine_options)
    if todo:
        fresh = engine.run([requests[i] for i in todo], parameters, scale, repair)
        for i, outcome in zip(todo, fresh):
            outcomes[i] = outcome
    stats = engine.stats
    accounting = {"judge_requests": stats.requests, "judge_retries": stats.retries,
                  "judge_repairs": stats.repairs, "judge_cache_hits": len(requests) - len(todo),
                  "prompt_tokens": stats.prompt_tokens,
                  "completion_tokens": stats.completion_tokens}
    return [o or Outcome(status="error", reason="no outcome") for o in outcomes], accounting
