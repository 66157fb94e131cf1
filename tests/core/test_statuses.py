"""One status vocabulary: the Status enum, docs/statuses.md's table and every status the package writes."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from mlflow_llm_eval.core.types import OK, STATUSES, RowScore, Status

ROOT = Path(__file__).parents[2]
PACKAGE = ROOT / "mlflow_llm_eval"
#: Calls that take a status: name -> index of the positional argument holding it.
STATUS_ARGUMENT = {"unscored": 0, "all_failed": 1, "JudgeCallError": 0, "RowScore": 1}


def _docs_table() -> dict[str, str]:
    """The status table of docs/statuses.md (README links there)."""
    section = (ROOT / "docs" / "statuses.md").read_text(encoding="utf-8")
    return dict(re.findall(r"^\| `([a-z_]+)` \| (.+?) \| \S+ \|$", section, flags=re.M))


def test_docs_table_lists_exactly_the_enum() -> None:
    table = _docs_table()
    assert list(table) == [s.value for s in Status]


def test_statuses_dict_and_enum_agree() -> None:
    assert list(STATUSES) == [s.value for s in Status]
    assert OK == Status.OK == "ok" and str(Status.NOT_TEXT) == "not_text"
    assert RowScore.unscored(Status.MISSING, "x").status == "missing"
    assert type(RowScore.unscored(Status.MISSING, "x").status) is str  # plain text in tables


def _statuses_in_source() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
            values = []
            if name in STATUS_ARGUMENT and len(node.args) > STATUS_ARGUMENT[name]:
                values.append(node.args[STATUS_ARGUMENT[name]])
            values += [k.value for k in node.keywords if k.arg == "status"]
            for value in values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    found.setdefault(value.value, []).append(str(path.relative_to(ROOT)))
    return found


def test_every_status_the_package_writes_is_in_the_enum() -> None:
    found = _statuses_in_source()
    assert {"missing", "error", "truncated"} <= set(found)  # scan works
    unknown = {s: paths for s, paths in found.items() if s not in STATUSES}
    assert not unknown, f"statuses missing from core.types.Status (and docs/statuses.md): {unknown}"
