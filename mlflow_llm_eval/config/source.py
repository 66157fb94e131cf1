"""YAML with line numbers: the data (``yaml.safe_load``) and a map from key paths to lines.

Pydantic reports errors at a location such as ``("models", 1, "endpoint")``; :class:`YamlSource`
turns that into the line of the YAML file where the key (or the closest enclosing key) is.

    >>> src = YamlSource.from_text("models:\\n  - name: a\\n    uri: runs:/1/m\\n", "eval.yaml")
    >>> src.data["models"][0]["uri"]
    'runs:/1/m'
    >>> src.line_of(("models", 0, "uri")), src.line_of(("models", 0, "missing_key"))
    (3, 2)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Loc = tuple[int | str, ...]


@dataclass
class YamlSource:
    """Parsed YAML data plus the 1-based line of every mapping key and sequence item."""

    data: Any
    name: str = "<config>"
    lines: dict[Loc, int] = field(default_factory=dict)
    duplicates: list[tuple[Loc, int]] = field(default_factory=list)

    @classmethod
    def from_text(cls, text: str, name: str = "<config>") -> YamlSource:
        """Parse ``text``; a YAML syntax error becomes a :class:`YamlSyntaxError` with the line."""
        try:
            data = yaml.safe_load(text)
            node = yaml.compose(text)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else None
            raise YamlSyntaxError(name, line, str(exc.problem or exc)) from exc
        source = cls(data=data, name=name)
        if node is not None:
            source.lines[()] = node.start_mark.line + 1
            source._walk(node, ())
        return source

    @classmethod
    def from_path(cls, path: str | Path) -> YamlSource:
        path = Path(path)
        return cls.from_text(path.read_text(encoding="utf-8"), str(path))

    @classmethod
    def from_data(cls, data: Any, name: str = "<config>") -> YamlSource:
        """A source without line numbers (a dict built in Python)."""
        return cls(data=data, name=name)

    def _walk(self, node: yaml.Node, loc: Loc) -> None:
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
                if key is None or key == "<<":
                    continue
                child = (*loc, key)
                if key in seen:
                    self.duplicates.append((child, key_node.start_mark.line + 1))
                seen.add(key)
                self.lines[child] = key_node.start_mark.line + 1
                self._walk(value_node, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                child = (*loc, index)
                self.lines[child] = item.start_mark.line + 1
                self._walk(item, child)

    def deepest(self, loc: Sequence[int | str]) -> Loc:
        """The longest prefix of ``loc`` that exists in the file (skipping pydantic's union tags)."""
        found: Loc = ()
        for part in loc:
            candidate = (*found, part)
            if candidate in self.lines or self._in_data(candidate):
                found = candidate
        return found

    def _in_data(self, loc: Loc) -> bool:
        value = self.data
        for part in loc:
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
                value = value[part]
            else:
                return False
        return True

    def line_of(self, loc: Sequence[int | str]) -> int | None:
        """Line of ``loc``, or of its closest enclosing key; ``None`` without line information."""
        found = self.deepest(loc)
        while found not in self.lines and found:
            found = found[:-1]
        return self.lines.get(found)


class YamlSyntaxError(ValueError):
    """The file is not valid YAML."""

    def __init__(self, name: str, line: int | None, problem: str) -> None:
        self.name, self.line, self.problem = name, line, problem
        where = f"{name}:{line}" if line is not None else name
        super().__init__(f"{where}: invalid YAML: {problem}")


def format_loc(loc: Sequence[int | str]) -> str:
    """``("models", 1, "uri")`` -> ``models[1].uri``.

    >>> format_loc(("models", 1, "uri")), format_loc(())
    ('models[1].uri', '<root>')
    """
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "<root>"
