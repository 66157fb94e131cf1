"""House rules that keep the package small and light: checked, not just written down."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "mlflow_llm_eval"
MODULES = sorted(PACKAGE.rglob("*.py"))
#: Where a module-level MLflow import belongs: the thin adapter and the multi-model runner.
MLFLOW_PACKAGES = {"mlflow_adapter", "runner", "genai_adapter"}
HEAVY = ("torch", "transformers", "openai", "nltk", "textstat", "matplotlib")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_is_small(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= 450


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_level_mlflow_or_heavy_import_outside_its_place(path: Path) -> None:
    tree = ast.parse(path.read_text())
    top_level = []
    for node in tree.body:  # module level only: imports inside functions are lazy
        if isinstance(node, ast.Import):
            top_level += [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            top_level.append(node.module.split(".")[0])
    package_parts = set(path.relative_to(PACKAGE).parts[:-1])
    if "mlflow" in top_level:
        assert package_parts & MLFLOW_PACKAGES, f"{path.name} imports mlflow at module level"
    assert not set(top_level) & set(HEAVY), f"{path.name} imports {set(top_level) & set(HEAVY)}"


def test_importing_the_package_stays_light() -> None:
    code = (
        "import sys, mlflow_llm_eval, mlflow_llm_eval.core.registry as r; r.available_metrics();"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
