"""The request engine sits below the judges (issue 18): nothing in ``mlflow_llm_eval/chat``
imports from a higher layer."""

from __future__ import annotations

import ast
from pathlib import Path

CHAT = Path(__file__).resolve().parents[2] / "mlflow_llm_eval" / "chat"
ALLOWED = ("mlflow_llm_eval.chat", "mlflow_llm_eval.core")


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
    return names


def test_chat_imports_only_itself_and_core():
    offending = {
        path.name: name
        for path in sorted(CHAT.glob("*.py"))
        for name in _imports(path)
        if name.startswith("mlflow_llm_eval") and not name.startswith(ALLOWED)
    }
    assert offending == {}
    assert len(list(CHAT.glob("*.py"))) >= 10  # the walk saw the package


def test_one_stored_answer_type_defined_in_chat():
    """The judge cache stores what the engine writes: one class, defined in chat (the package's
    own ``__init__`` imports every layer, so this is checked on the definitions, not on
    ``sys.modules``)."""
    from mlflow_llm_eval.chat.store import CachedAnswer
    from mlflow_llm_eval.judge import cache

    assert cache.CachedAnswer is CachedAnswer
    assert CachedAnswer.__module__ == "mlflow_llm_eval.chat.store"
