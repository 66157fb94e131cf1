"""``compare:`` comparison steps run after every model is scored (today: the pairwise judge).

>>> spec = CompareSpec.model_validate({"pairwise": {"criteria": "Which answer is correct?"}})
>>> spec.pairwise.judge_options({"model": "openai:/gpt-4o-mini", "timeout": 30})["model"]
'openai:/gpt-4o-mini'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mlflow_llm_eval.config.request_keys import JudgeRequestKeys

#: ``judge:`` options that also apply to the pairwise judge (when it does not set its own).
SHARED_JUDGE_OPTIONS = ("model", "parameters", "cache", "proxy_url", *JudgeRequestKeys.model_fields)


class PairwiseSpec(JudgeRequestKeys):
    """``compare: {pairwise: {...}}``: judge each pair of models' answers, row by row, in both
    orders (see :mod:`mlflow_llm_eval.judge.pairwise`). ``model`` defaults to ``judge.model``;
    the request keys (``max_workers``, ``rpm``, ``timeout``, ...) are a judge's."""

    model_config = ConfigDict(extra="forbid")
    model: str | None = None
    criteria: str | None = Field(default=None, min_length=1)
    name: str = Field(default="pairwise", pattern=r"^[A-Za-z0-9_.\-]{1,64}$")
    include_input: bool = True
    n_bootstrap: int = Field(default=1000, ge=0, le=100_000)
    seed: int = 0
    parameters: dict[str, Any] | None = None
    cache: bool | str = True

    def judge_options(self, judge: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Keyword arguments of ``pairwise_preference``: these keys, then ``judge:``'s."""
        own = {k: v for k, v in self.model_dump().items() if v is not None}
        shared = {k: v for k, v in dict(judge or {}).items() if k in SHARED_JUDGE_OPTIONS}
        return {**shared, **own}


class CompareSpec(BaseModel):
    """``compare:`` steps after scoring."""

    model_config = ConfigDict(extra="forbid")
    pairwise: PairwiseSpec | None = None
