"""Conversation (multi-turn) judges over a ``conversation`` column: goal completion, knowledge
retention, role adherence, user frustration (the files of ``metrics/conversation/``).

A cell is a list of chat messages (``{"role", "content"}``, optionally an assistant's
``tool_calls`` in OpenAI format and a tool message's ``name``/``tool_call_id``), or its JSON
text. It is rendered as a numbered transcript and graded as the judge's ``output``: the same
prompt, delimiting (``<output-TAG> ... </output-TAG>``, TAG = a hash of the row's data), engine,
cache and answer parsing as every judge, so no turn can close the block or set a verdict.

    >>> print(render_conversation([
    ...     {"role": "user", "content": "Weather in Paris?"},
    ...     {"role": "assistant", "content": None, "tool_calls": [{"type": "function",
    ...      "function": {"name": "weather", "arguments": '{"city": "Paris"}'}}]},
    ...     {"role": "tool", "name": "weather", "content": "18C, sunny"},
    ...     {"role": "assistant", "content": "18C and sunny."}]))
    [1] user: Weather in Paris?
    [2] assistant: (calls weather({"city": "Paris"}))
    [3] tool weather: 18C, sunny
    [4] assistant: 18C and sunny.
    >>> render_conversation([{"content": "no role"}]).status
    'malformed'
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from mlflow_llm_eval.core.text import is_missing
from mlflow_llm_eval.core.types import MetricResult, RowBatch, RowScore, Status
from mlflow_llm_eval.judge.metric import GenAIMetric
from mlflow_llm_eval.judge.pack import JudgeSpec, pack_dir, parse_judge_file

ROLES = ("system", "user", "assistant", "tool", "function", "developer")


def _content(value: Any) -> str | None:
    """Message content as text: a string, or the text parts of a content list."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = [p.get("text") if isinstance(p, dict) else p for p in value]
        texts = [p for p in parts if isinstance(p, str)]
        if len(texts) == len(parts):
            return "\n".join(texts)
    return None


def _calls(message: dict[str, Any]) -> list[str]:
    out = []
    for call in message.get("tool_calls") or []:
        body = call.get("function", call) if isinstance(call, dict) else None
        if not isinstance(body, dict) or not isinstance(body.get("name"), str):
            raise TypeError("a tool call without a name")
        arguments = body.get("arguments")
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments if arguments is not None else {}, ensure_ascii=False)
        out.append(f"(calls {body['name']}({arguments}))")
    return out


def render_conversation(value: Any) -> str | RowScore:
    """The numbered transcript of a conversation cell, or the row status saying why not."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return RowScore.unscored(Status.MALFORMED, "conversation is text that is not JSON")
    if type(value).__name__ == "ndarray":
        value = value.tolist()
    if value is None or (isinstance(value, float) and is_missing(value)):
        return RowScore.unscored(Status.MISSING, "conversation is missing (None/NaN)")
    if not isinstance(value, (list, tuple)):
        return RowScore.unscored(
            Status.MALFORMED, f"conversation is a {type(value).__name__}, not a list of messages"
        )
    if not value:
        return RowScore.unscored(Status.EMPTY, "conversation has no message")
    lines = []
    for i, message in enumerate(value, 1):
        message = dict(message) if hasattr(message, "keys") else message
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            return RowScore.unscored(
                Status.MALFORMED,
                f"conversation[{i - 1}] is not a chat message with a role in {ROLES}",
            )
        text = _content(message.get("content"))
        if text is None and message.get("content") is not None:
            return RowScore.unscored(
                Status.MALFORMED, f"conversation[{i - 1}]: content is not text"
            )
        try:
            calls = _calls(message)
        except TypeError as exc:
            return RowScore.unscored(Status.MALFORMED, f"conversation[{i - 1}]: {exc}")
        who = message["role"] + (f" {message['name']}" if message.get("name") else "")
        lines.append(f"[{i}] {who}: " + " ".join(filter(None, [text, *calls])))
    return "\n".join(lines)


class ConversationJudge(GenAIMetric):
    """A pack judge graded on a rendered ``conversation`` instead of a prediction."""

    def __init__(self, spec: JudgeSpec, **options: Any) -> None:
        super().__init__(spec, **options)
        self.requires = ("conversation",)

    def score_batch(self, rows: RowBatch) -> MetricResult:
        rendered = [render_conversation(v) for v in rows["conversation"]]
        valid = [i for i, r in enumerate(rendered) if isinstance(r, str)]
        out: list[RowScore] = [r for r in rendered]  # type: ignore[misc]
        extras: dict[str, float] = {}
        if valid:
            judged = super().score_batch({"predictions": [rendered[i] for i in valid]})
            for j, i in enumerate(valid):
                out[i] = judged.row(j)
            extras = judged.extra_aggregates
        return MetricResult.from_rows(out, extras)


@functools.cache
def conversation_specs() -> dict[str, JudgeSpec]:
    """The conversation judges of the pack (``metrics/conversation/*.yaml``) by name."""
    folder = pack_dir() / "conversation"
    return {s.name: s for s in map(parse_judge_file, sorted(folder.glob("*.yaml")))}


def conversation_judge(name: str) -> Callable[..., ConversationJudge]:
    """The factory of the conversation judge ``name``; options are a judge's (model, ...)."""

    def factory(model: str | None = None, **options: Any) -> ConversationJudge:
        return ConversationJudge(conversation_specs()[name], model=model, **options)

    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = f"Conversation judge '{name}': {conversation_specs()[name].description}"
    return factory


METRICS: dict[str, Callable[..., ConversationJudge]] = {
    name: conversation_judge(name) for name in conversation_specs()
}
