"""Deterministic tool-call metrics: ``tool_call_correctness``, ``tool_call_f1``,
``tool_call_efficiency`` over a ``tool_calls`` column and an ``expected_tool_calls`` column.

A cell is a list of calls, each in OpenAI chat-completions format
(``{"type": "function", "function": {"name": ..., "arguments": "<JSON text>" or {...}}}``) or
plain (``{"name": ..., "arguments": {...}}``); the cell may also be the JSON text of that list
or an assistant message with a ``tool_calls`` key. A call without a name or with arguments that
are not a JSON object makes the row ``malformed`` (the reason names the call), never a crash.

Two calls match when their names are equal and their arguments are equal as canonical JSON
(``json.dumps(sort_keys=True)``: ``1`` and ``1.0`` differ, as in MLflow's exact-match
``ToolCallCorrectness``). ``argument_keys=[...]`` compares only those keys;
``check_arguments=False`` compares names only. As MLflow does, when an expected call has no
``arguments`` at all, every call of that row is compared by name only.

    >>> calls = [{"type": "function", "function": {"name": "search", "arguments": '{"q": "x"}'}}]
    >>> expected = [{"name": "search", "arguments": {"q": "x"}}]
    >>> rows = {"tool_calls": [calls], "expected_tool_calls": [expected]}
    >>> tool_call_correctness().score_batch(rows).scores
    [1.0]
    >>> rows2 = {"tool_calls": [calls * 2], "expected_tool_calls": [expected]}
    >>> tool_call_correctness(mode="subset").score_batch(rows2).scores
    [1.0]
    >>> tool_call_f1().score_batch(rows2).scores
    [0.6666666666666666]
    >>> tool_call_efficiency().score_batch(rows2).scores
    [0.5]
    >>> tool_call_correctness().score_batch(
    ...     {"tool_calls": [[{"name": "search", "arguments": "{oops"}]],
    ...      "expected_tool_calls": [expected]}).statuses
    ['malformed']
"""

from __future__ import annotations

import json
import json.scanner
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from mlflow_llm_eval.core.text import is_missing
from mlflow_llm_eval.core.types import Metric, MetricResult, RowBatch, RowScore, Status

MODES = ("set", "sequence", "subset")


def _make_dumps() -> Callable[[Any], str]:
    """``json.dumps(value, sort_keys=True, ensure_ascii=False)`` with the C encoder built once
    (``JSONEncoder.encode`` rebuilds it on every call, the cost of a small dict)."""
    slow = json.JSONEncoder(sort_keys=True, ensure_ascii=False, default=repr).encode
    try:
        encode = json.encoder.c_make_encoder(  # type: ignore[attr-defined]
            None, repr, json.encoder.encode_basestring, None, ": ", ", ", True, False, True
        )
    except (AttributeError, TypeError):  # pragma: no cover - another Python: the plain path
        return slow
    return lambda value: "".join(encode(value, 0))


def _make_loads() -> Callable[[str], Any]:
    """``json.loads`` of a str without its whitespace regexes (JSON with surrounding
    whitespace takes the ordinary path)."""
    scan = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]  # typeshed: context is a JSONDecoder
    loads = json.loads

    def fast(text: str) -> Any:
        try:
            value, end = scan(text, 0)
        except StopIteration:
            return loads(text)  # raises the ordinary error
        return value if end == len(text) else loads(text)

    return fast


_dumps = _make_dumps()
_loads = _make_loads()


class Malformed(ValueError):
    """A cell that is not a list of tool calls (the message says which call and why)."""


def _arguments(value: Any, where: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if type(value) is str:
        try:
            value = _loads(value) if value.strip() else {}
        except json.JSONDecodeError as exc:
            raise Malformed(f"{where}: arguments are not JSON ({exc.msg})") from None
    if type(value) is not dict and not isinstance(value, dict):
        raise Malformed(f"{where}: arguments are a {type(value).__name__}, not a JSON object")
    return value


def parse_calls(value: Any, column: str = "tool_calls") -> list[tuple[str, dict | None]]:
    """``[(name, arguments or None), ...]`` of a cell; raises :class:`Malformed`.

    >>> parse_calls('[{"name": "f", "arguments": "{\\\\"a\\\\": 1}"}]')
    [('f', {'a': 1})]
    >>> parse_calls({"role": "assistant", "tool_calls": []})
    []
    """
    if type(value) is not list:
        value = _as_list(value, column)
    calls = []
    for i, call in enumerate(value):
        if type(call) is not dict and not isinstance(call, dict):
            raise Malformed(f"{column}[{i}] is a {type(call).__name__}, not a tool call object")
        function = call.get("function")
        body = function if type(function) is dict or isinstance(function, dict) else call
        name = body.get("name")
        if type(name) is not str or not name:
            raise Malformed(f"{column}[{i}] has no tool name")
        arguments = body.get("arguments")
        if type(arguments) is not dict:  # the common case needs no check
            arguments = _arguments(arguments, f"{column}[{i}] ({name})")
        calls.append((name, arguments))
    return calls


def _as_list(value: Any, column: str) -> list[Any]:
    """The list of calls of a cell that is not a plain list (JSON text, a message, an array)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise Malformed(f"{column} is text that is not JSON ({exc.msg})") from None
    if isinstance(value, dict) and "tool_calls" in value:
        value = value["tool_calls"] or []
    if type(value).__name__ == "ndarray":
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        raise Malformed(f"{column} is a {type(value).__name__}, not a list of tool calls")
    return list(value)


class ToolCallMetric(Metric):
    """Shared parsing and matching; subclasses score (actual, expected) signature lists."""

    version = "v1"
    greater_is_better = True
    requires: tuple[str, ...] = ("tool_calls", "expected_tool_calls")
    value_kind = "bounded"
    value_range = (0.0, 1.0)

    def __init__(
        self, *, argument_keys: Sequence[str] | None = None, check_arguments: bool = True
    ) -> None:
        if argument_keys is not None and (
            isinstance(argument_keys, str) or not all(isinstance(k, str) for k in argument_keys)
        ):
            raise ValueError(
                f"{self.name}: argument_keys must be a list of key names, got {argument_keys!r}"
            )
        self.argument_keys = tuple(argument_keys) if argument_keys is not None else None
        self.check_arguments = bool(check_arguments)

    def _signatures(self, calls: list[tuple[str, dict | None]], with_arguments: bool) -> list[str]:
        if not with_arguments:
            return [name for name, _ in calls]
        keys, dumps = self.argument_keys, _dumps
        out = []
        for name, arguments in calls:
            if keys is not None and arguments:
                arguments = {k: arguments[k] for k in keys if k in arguments}
            out.append(f"{name}({dumps(arguments)})" if arguments else f"{name}({{}})")
        return out

    def score_batch(self, rows: RowBatch) -> MetricResult:
        expected_column = rows.get("expected_tool_calls")
        n = len(rows["tool_calls"])
        expected_cells = expected_column if expected_column is not None else [None] * n
        out = []
        for actual_cell, expected_cell in zip(rows["tool_calls"], expected_cells, strict=True):
            out.append(self._score_row(actual_cell, expected_cell))
        return MetricResult.from_rows(out)

    def _score_row(self, actual_cell: Any, expected_cell: Any) -> RowScore:
        if type(actual_cell) is not list and is_missing(actual_cell):
            return RowScore.unscored(Status.MISSING, "tool_calls is missing (None/NaN)")
        no_expected = type(expected_cell) is not list and is_missing(expected_cell)
        if no_expected and "expected_tool_calls" in self.requires:
            return RowScore.unscored(Status.MISSING, "expected_tool_calls is missing (None/NaN)")
        try:
            actual = parse_calls(actual_cell, "tool_calls")
            expected = None if no_expected else parse_calls(expected_cell, "expected_tool_calls")
        except Malformed as exc:
            return RowScore.unscored(Status.MALFORMED, str(exc))
        with_arguments = self.check_arguments and (
            expected is None or all(arguments is not None for _, arguments in expected)
        )
        expected_sigs = None if expected is None else self._signatures(expected, with_arguments)
        actual_sigs = self._signatures(actual, with_arguments)
        full = (
            actual_sigs
            if with_arguments == self.check_arguments
            else self._signatures(actual, self.check_arguments)
        )
        return self.score_signatures(actual_sigs, expected_sigs, full)

    def score_signatures(
        self, actual: list[str], expected: list[str] | None, full: list[str]
    ) -> RowScore:
        """``actual``/``expected``: signatures as compared; ``full``: with the arguments
        (unless ``check_arguments=False``), for spotting identical calls."""
        raise NotImplementedError

    def metadata(self) -> dict[str, Any]:
        return {
            **super().metadata(),
            "argument_keys": self.argument_keys,
            "check_arguments": self.check_arguments,
        }


class ToolCallCorrectness(ToolCallMetric):
    """1 if the calls match the expected ones under ``mode``, else 0.

    ``mode="set"``: as many calls as expected and the same set of signatures (MLflow's
    ``ToolCallCorrectness(should_exact_match=True)``); ``"sequence"``: the same signatures in
    the same order (``should_consider_ordering=True``); ``"subset"``: every expected signature
    is among the calls (extra calls allowed).
    """

    name = "tool_call_correctness"
    value_kind = "binary"
    description = "1 if the tool calls (names, arguments) match the expected calls, else 0"

    def __init__(
        self,
        *,
        mode: str = "set",
        argument_keys: Sequence[str] | None = None,
        check_arguments: bool = True,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"tool_call_correctness: mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        super().__init__(argument_keys=argument_keys, check_arguments=check_arguments)

    def score_signatures(self, actual, expected, full) -> RowScore:
        if self.mode == "subset":
            made = set(actual)
            missing = [s for s in dict.fromkeys(expected) if s not in made]
            return (
                RowScore.ok(0.0, f"Missing: {missing}")
                if missing
                else RowScore.ok(1.0, "Every expected tool call was made.")
            )
        if len(actual) != len(expected):
            return RowScore.ok(0.0, f"Expected {len(expected)} tool call(s), got {len(actual)}.")
        if self.mode == "sequence":
            wrong = [
                f"position {i + 1}: expected {e}, got {a}"
                for i, (a, e) in enumerate(zip(actual, expected))
                if a != e
            ]
            return (
                RowScore.ok(0.0, "; ".join(wrong))
                if wrong
                else RowScore.ok(1.0, "All tool calls match the expected sequence.")
            )
        actual_set, expected_set = set(actual), set(expected)
        if actual_set == expected_set:
            return RowScore.ok(1.0, "All expected tool calls made (order ignored).")
        parts = (
            [f"Missing: {sorted(expected_set - actual_set)}"] if expected_set - actual_set else []
        )
        if actual_set - expected_set:
            parts.append(f"Unexpected: {sorted(actual_set - expected_set)}")
        return RowScore.ok(0.0, "; ".join(parts))

    def metadata(self) -> dict[str, Any]:
        return {**super().metadata(), "mode": self.mode}


def _matched(actual: list[str], expected: list[str]) -> int:
    """Size of the multiset intersection (a list scan for the usual few calls)."""
    if len(actual) * len(expected) > 64:
        return sum((Counter(actual) & Counter(expected)).values())
    remaining, matched = list(expected), 0
    for signature in actual:
        if signature in remaining:
            remaining.remove(signature)
            matched += 1
    return matched


class ToolCallF1(ToolCallMetric):
    """F1 of the calls against the expected ones, matching signatures as multisets.

    Both lists empty -> 1 (nothing expected, nothing called); one empty -> 0.
    """

    name = "tool_call_f1"
    description = "F1 of the tool calls against the expected calls (multiset of signatures)"

    def score_signatures(self, actual, expected, full) -> RowScore:
        if not actual and not expected:
            return RowScore.ok(1.0, "No tool call expected and none made.")
        matched = _matched(actual, expected)
        if matched == 0:
            return RowScore.ok(0.0, f"0 of {len(actual)} call(s) expected.")
        precision, recall = matched / len(actual), matched / len(expected)
        return RowScore.ok(
            2 * precision * recall / (precision + recall),
            f"precision {matched}/{len(actual)}, recall {matched}/{len(expected)}",
        )


class ToolCallEfficiency(ToolCallMetric):
    """1 - wasted calls / calls: a call is wasted when it repeats an earlier identical call
    (same name and arguments) or, given ``expected_tool_calls``, when the distinct calls
    outnumber the expected ones. No call made -> 1.
    """

    name = "tool_call_efficiency"
    requires = ("tool_calls",)
    optional = ("expected_tool_calls",)
    description = "1 - (redundant identical calls + calls beyond the expected) / calls"

    def score_signatures(self, actual, expected, full) -> RowScore:
        if not actual:
            return RowScore.ok(1.0, "No tool call made.")
        distinct = len(set(full))
        redundant = len(full) - distinct
        beyond = max(0, distinct - len(expected)) if expected is not None else 0
        wasted = redundant + beyond
        why = f"{redundant} redundant identical call(s), {beyond} beyond the expected"
        return RowScore.ok(1.0 - wasted / len(full), why)


def tool_call_correctness(
    *, mode: str = "set", argument_keys: Sequence[str] | None = None, check_arguments: bool = True
) -> ToolCallCorrectness:
    """Tool-call correctness (modes ``set``, ``sequence``, ``subset``)."""
    return ToolCallCorrectness(
        mode=mode, argument_keys=argument_keys, check_arguments=check_arguments
    )


def tool_call_f1(
    *, argument_keys: Sequence[str] | None = None, check_arguments: bool = True
) -> ToolCallF1:
    """Tool-call F1 (multiset match of names and arguments)."""
    return ToolCallF1(argument_keys=argument_keys, check_arguments=check_arguments)


def tool_call_efficiency(
    *, argument_keys: Sequence[str] | None = None, check_arguments: bool = True
) -> ToolCallEfficiency:
    """Tool-call efficiency (redundant identical calls, calls beyond the expected)."""
    return ToolCallEfficiency(argument_keys=argument_keys, check_arguments=check_arguments)


METRICS: dict[str, Callable[..., Metric]] = {
    "tool_call_correctness": tool_call_correctness,
    "tool_call_f1": tool_call_f1,
    "tool_call_efficiency": tool_call_efficiency,
}
