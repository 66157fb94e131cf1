"""The builtin judges: one factory per file of the judge pack, registered by name.

Each factory takes MLflow's arguments for its builtin judges (``model``, ``metric_version``,
``examples``, ``metric_metadata``, ``parameters``, ``extra_headers``, ``proxy_url``,
``max_workers``) plus our engine options (``aggregations``, ``cache``, ``timeout``, ``price``,
``progress``, ...). The judge model defaults to ``$MLFLOW_LLM_EVAL_JUDGE_MODEL``.

    >>> import os; os.environ.setdefault("OPENAI_API_KEY", "sk-doc")  # doctest: +ELLIPSIS
    '...'
    >>> answer_similarity(model="openai:/gpt-4o-mini").requires
    ('predictions', 'targets')
    >>> sorted(METRICS)[:3]
    ['answer_correctness', 'answer_relevance', 'answer_similarity']

Adding a judge = adding one YAML file to ``metrics/``; it is then known to ``get_metric``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from mlflow_llm_eval.judge.metric import GenAIMetric
from mlflow_llm_eval.judge.pack import as_example, load_judge, load_pack


def judge_factory(name: str) -> Callable[..., GenAIMetric]:
    """The factory of the pack judge ``name`` (read from the pack when called)."""

    def factory(
        model: str | None = None,
        metric_version: str | None = None,
        examples: Sequence[Any] | None = None,
        metric_metadata: dict[str, Any] | None = None,
        parameters: dict[str, Any] | None = None,
        extra_headers: dict[str, str] | None = None,
        proxy_url: str | None = None,
        max_workers: int | None = None,
        **options: Any,
    ) -> GenAIMetric:
        spec = load_judge(name)
        if metric_version is not None and metric_version != spec.version:
            raise ValueError(
                f"judge '{name}' is at version {spec.version} in this package; "
                f"metric_version={metric_version!r} is not available"
            )
        if examples is not None:
            spec = dataclasses.replace(
                spec, examples=tuple(as_example(e, spec.grading_context_columns) for e in examples)
            )
        return GenAIMetric(
            spec,
            model=model,
            metric_metadata=metric_metadata,
            parameters=parameters,
            extra_headers=extra_headers,
            proxy_url=proxy_url,
            max_workers=max_workers,
            **options,
        )

    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = f"The '{name}' judge of the pack: {load_judge(name).description}"
    return factory


answer_similarity = judge_factory("answer_similarity")
answer_correctness = judge_factory("answer_correctness")
faithfulness = judge_factory("faithfulness")
answer_relevance = judge_factory("answer_relevance")
relevance = judge_factory("relevance")
coherence = judge_factory("coherence")
fluency = judge_factory("fluency")
groundedness = judge_factory("groundedness")

#: Every pack judge by name, including files added to ``metrics/`` later.
METRICS: dict[str, Callable[..., GenAIMetric]] = {
    name: globals().get(name) or judge_factory(name) for name in load_pack()
}
