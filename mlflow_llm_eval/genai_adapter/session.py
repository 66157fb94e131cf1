"""MLflow 3 sessions: the conversation judges as session-level scorers.

``le.scorers.goal_completion(model=...)`` (any metric reading only ``conversation``) is a
:class:`SessionScorer`: MLflow's harness groups the evaluated traces by session
(``mlflow.trace.session`` metadata) and calls it once per session with the session's traces. The
conversation is MLflow's own reading of the session
(``mlflow.genai.utils.trace_utils.resolve_conversation_from_session`` with tool calls: a user
message per trace input, a tool message per TOOL span, an assistant message per output; an
internal helper pinned by tests/agents/test_sessions.py), then judged like a ``conversation``
cell. A call with ``conversation=`` outside a harness also works (a list of chat messages).
"""

from __future__ import annotations

from typing import Any

from mlflow.entities import Feedback

from mlflow_llm_eval.core.types import RowScore
from mlflow_llm_eval.genai_adapter.scorer import MetricScorer


def conversation_of_session(session: Any) -> Any:
    """The chat messages of a session's traces (None when there is no session)."""
    if not session:
        return None
    from mlflow.genai.utils.trace_utils import resolve_conversation_from_session

    return resolve_conversation_from_session(list(session), include_tool_calls=True)


class SessionScorer(MetricScorer):
    """A :class:`MetricScorer` of a conversation metric, called once per MLflow session."""

    @property
    def is_session_level_scorer(self) -> bool:
        return True

    def __call__(self, *, session: Any = None, expectations: dict[str, Any] | None = None,
                 conversation: Any = None) -> Feedback:
        row = {"conversation": conversation if conversation is not None
               else conversation_of_session(session)}
        score: RowScore = self._batcher.submit(row)
        return self._feedback(score)
