"""MkDocs hook: the config file reference, generated from the schema at build time.

Walks :class:`mlflow_llm_eval.config.schema.EvalConfig` (pydantic): one table per block of the
YAML file (``dataset``, ``models[]``, ``select``, ...) with every key's type, default and the
``#:`` comment or docstring that the schema's source gives it. A key added to the schema appears
here without a hand edit.
"""

from __future__ import annotations

import ast
import inspect
import sys
import typing
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- config-reference -->"


def _field_comments(cls: type) -> dict[str, str]:
    """``#:`` comments above each annotated attribute, over the class and its bases."""
    comments: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        try:
            lines, _ = inspect.getsourcelines(klass)
        except (OSError, TypeError):
            continue
        tree = ast.parse("".join(lines).lstrip() if lines[0].startswith(" ") else "".join(lines))
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for node in body:
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                above = []
                i = node.lineno - 2
                while i >= 0 and lines[i].strip().startswith("#:"):
                    above.insert(0, lines[i].strip()[2:].strip())
                    i -= 1
                if above:
                    comments[node.target.id] = " ".join(above)
    return comments


def _rst(text: str) -> str:
    """reST literals and roles as Markdown code."""
    import re

    text = re.sub(r":(?:mod|class|func|meth|attr):`~?\.?([^`]+)`", r"`\1`", text)
    return text.replace("``", "`")


def _models_in(annotation: Any) -> list[type]:
    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def _type_text(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) if isinstance(annotation, type) else None
    text = text or str(annotation)
    for prefix in (
        "typing.",
        "pathlib.",
        "mlflow_llm_eval.config.schema.",
        "mlflow_llm_eval.config.compare.",
        "mlflow_llm_eval.select.",
        "typing_extensions.",
    ):
        text = text.replace(prefix, "")
    return text.replace("NoneType", "None").replace("|", "\\|")


def _default_text(field: Any) -> str:
    from pydantic_core import PydanticUndefined

    if field.is_required():
        return "**required**"
    if field.default_factory is not None:
        try:
            value = field.default_factory()
        except TypeError:
            return "(built)"
        from pydantic import BaseModel

        return "(defaults below)" if isinstance(value, BaseModel) else f"`{value!r}`"
    return "" if field.default is PydanticUndefined else f"`{field.default!r}`"


def _section(path: str, model: type, seen: set[type], out: list[str]) -> None:
    from mlflow_llm_eval.chat.options import NAMES

    if model in seen:
        return
    seen.add(model)
    comments = _field_comments(model)
    doc = _rst(" ".join((inspect.getdoc(model) or "").split()))
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
    nested: list[tuple[str, type]] = []
    request_keys = set(NAMES) | {"max_workers"}
    fields = sorted(
        model.model_fields.items(), key=lambda kv: kv[0] in request_keys and kv[0] not in comments
    )
    for name, field in fields:
        key = field.alias or name
        meaning = comments.get(name, "")
        kind = _type_text(field.annotation)
        if not meaning and name in request_keys:
            meaning, kind = "a [request option](judges.md), checked at load", "number"
        rows.append(f"| `{key}` | {kind} | {_default_text(field)} | {_rst(meaning)} |")
        for sub in _models_in(field.annotation):
            suffix = (
                "[]"
                if typing.get_origin(field.annotation) is list or "list[" in str(field.annotation)
                else ""
            )
            nested.append((f"{path}.{key}{suffix}" if path else f"{key}{suffix}", sub))
    extra = model.model_config.get("extra")
    title = f"`{path}`" if path else "top level"
    out.append(
        f"### {title}\n\n{doc}\n\n"
        + "\n".join(rows)
        + ("\n\nOther keys are passed on as options." if extra == "allow" else "")
    )
    for sub_path, sub in nested:
        _section(sub_path, sub, seen, out)


def render() -> str:
    """The reference's Markdown: one section per block of the file."""
    from mlflow_llm_eval.config.schema import EvalConfig

    out: list[str] = []
    _section("", EvalConfig, set(), out)
    return "\n\n".join(out) + "\n"


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    if MARKER not in markdown:
        return markdown
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return markdown.replace(MARKER, render())
