"""The package's layers import one way down: checked here, so the next feature cannot bend them.

:data:`LAYERS` is the one list of the package's parts, top layer first (docs/layers.md shows the
same table, rendered from it). A module may import a module of its own part, or of any part in a
LOWER layer; parts on one line are peers and never import each other. Every import counts: the
lazy ones inside functions too, and a module named as a string (``import_module("...")``).
On top of the order: no import cycle between modules, and no import of another part's private
name (``_name``) or private module (``_module.py``).

To add a package or a top-level module: put it on the line where it belongs. To add an import
that this test refuses: move the shared piece down to a layer both sides may import, or pass it
in from above (as the metric packages register themselves with ``core.registry``), rather than
adding an exception.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "mlflow_llm_eval"
ROOT = PACKAGE.name

#: The parts of the package, top layer first. A part is a subpackage or a top-level module;
#: ``mlflow_llm_eval`` is the package's own ``__init__``.
LAYERS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("__main__",), "`python -m mlflow_llm_eval`"),
    (("mlflow_llm_eval", "cli"), "the face: the public names; the command line"),
    (
        ("runner", "evaluate_entry", "sample"),
        "applications: a config of models, `le.evaluate`, one row",
    ),
    (("config", "report"), "the runner's YAML config and HTML reports"),
    (("spark_adapter",), "door 2: Spark (logs its sample through door 1's logging)"),
    (("mlflow_adapter", "genai_adapter"), "door 1: `mlflow.evaluate`; door 3: MLflow 3 scorers"),
    (("select", "agreement"), "picking a winner; judge-human agreement"),
    (("fmeval",), "FMEval's algorithms, built on the metrics below"),
    (("function_metrics", "judge", "custom"), "the metrics (each package registers its own)"),
    (("chat", "hf"), "the request engine; Hugging Face plumbing"),
    (("core", "redaction"), "types, statuses, engine, aggregates, registry; secret redaction"),
)

#: Imports that break the order today, each with the change that removes it. Keep it empty.
ALLOWED: dict[tuple[str, str], str] = {}

_MODULE_NAME = re.compile(rf"^{ROOT}(\.[A-Za-z_][A-Za-z0-9_]*)+$")


def _module_name(path: Path) -> str:
    parts = (ROOT, *path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES: dict[str, Path] = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def part_of(module: str) -> str:
    """``mlflow_llm_eval.core.engine`` -> ``core``; the package itself -> ``mlflow_llm_eval``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ROOT


def _layer_index() -> dict[str, int]:
    return {part: depth for depth, (line, _) in enumerate(LAYERS) for part in line}


def _docstrings(tree: ast.Module) -> set[int]:
    nodes = [
        tree,
        *(
            n
            for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        ),
    ]
    return {
        id(n.body[0].value)
        for n in nodes
        if n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)
    }


def imports_of(module: str) -> list[tuple[str, str, int]]:
    """``(target module, name taken or '', line)`` for every import of ``module`` in the package."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[str, str, int]] = []
    docstrings = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [
                (a.name, "", node.lineno)
                for a in node.names
                if part_of(a.name) and a.name.split(".")[0] == ROOT
            ]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            if base.split(".")[0] != ROOT:
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append(
                    (sub, "", node.lineno) if sub in MODULES else (base, alias.name, node.lineno)
                )
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and _MODULE_NAME.match(node.value)
        ):
            found.append((node.value, "", node.lineno))  # import_module("mlflow_llm_eval....")
    return sorted({(t, name, line) for t, name, line in found if t in MODULES}, key=lambda x: x[2])


GRAPH: dict[str, list[tuple[str, str, int]]] = {m: imports_of(m) for m in MODULES}


def test_every_module_is_on_one_layer() -> None:
    listed = [part for line, _ in LAYERS for part in line]
    assert len(listed) == len(set(listed)), "a part is listed twice in LAYERS"
    parts = {part_of(m) for m in MODULES}
    assert not parts - set(listed), f"add these parts to LAYERS: {sorted(parts - set(listed))}"
    assert not set(listed) - parts, (
        f"LAYERS lists parts that do not exist: {sorted(set(listed) - parts)}"
    )


def test_imports_go_down_the_layers() -> None:
    depth, upward = _layer_index(), []
    for module, targets in GRAPH.items():
        for target, line in sorted({(t, line) for t, _, line in targets}):
            source_part, target_part = part_of(module), part_of(target)
            if source_part == target_part or (module, target) in ALLOWED:
                continue
            if depth[target_part] <= depth[source_part]:
                kind = "a peer" if depth[target_part] == depth[source_part] else "a higher layer"
                upward.append(
                    f"{MODULES[module].relative_to(PACKAGE.parent)}:{line} imports "
                    f"{target} ({kind}: {source_part} -> {target_part})"
                )
    assert not upward, "imports against the layer order:\n" + "\n".join(upward)


def test_the_allowed_exceptions_still_exist() -> None:
    """An exception whose import is gone is deleted from ALLOWED (the list only shrinks)."""
    edges = {(m, t) for m, targets in GRAPH.items() for t, _, _ in targets}
    assert not set(ALLOWED) - edges, f"remove from ALLOWED: {sorted(set(ALLOWED) - edges)}"


def test_no_import_cycle() -> None:
    """Tarjan's strongly connected components over the module graph: each must be one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    edges = {m: sorted({t for t, _, _ in targets if t != m}) for m, targets in GRAPH.items()}

    def visit(node: str) -> None:  # recursion depth <= number of modules (~200)
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    assert not cycles, "modules importing each other in a circle:\n" + "\n".join(map(str, cycles))


def _private(dotted: str) -> bool:
    return any(p.startswith("_") and not p.startswith("__") for p in dotted.split("."))


def test_no_import_of_another_parts_private_names() -> None:
    found = []
    for module, targets in GRAPH.items():
        for target, name, line in targets:
            if part_of(module) != part_of(target) and (_private(target) or _private(name)):
                found.append(
                    f"{MODULES[module].relative_to(PACKAGE.parent)}:{line} takes "
                    f"{target}{'.' + name if name else ''}"
                )
    assert not found, "make these public in a layer both may import:\n" + "\n".join(found)


def test_core_names_no_metric_package() -> None:
    """Core's registry knows metrics only as the packages register them: no import and no
    module name in a string (a list of metric modules in core would be caught here)."""
    metric_parts = {"function_metrics", "judge", "fmeval", "custom"}
    named = [
        (m, t)
        for m, targets in GRAPH.items()
        if part_of(m) == "core"
        for t, _, _ in targets
        if part_of(t) in metric_parts
    ]
    assert not named, named


def layer_table() -> str:
    """LAYERS as the Markdown table in docs/layers.md (top layer first)."""
    rows = ["| layer | parts | what |", "| --- | --- | --- |"]
    rows += [
        f"| {len(LAYERS) - i} | {', '.join(f'`{p}`' for p in line)} | {what} |"
        for i, (line, what) in enumerate(LAYERS)
    ]
    return "\n".join(rows)


def test_the_docs_show_these_layers() -> None:
    docs = (PACKAGE.parent / "docs" / "layers.md").read_text(encoding="utf-8")
    assert layer_table() in docs, "docs/layers.md: paste tests/test_layers.py::layer_table() output"


def test_the_pandas_branch_of_le_evaluate_imports_nothing_of_spark() -> None:
    tree = ast.parse(MODULES[f"{ROOT}.evaluate_entry"].read_text(encoding="utf-8"))
    [branch] = [
        n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "_evaluate_pandas"
    ]
    taken = [n.module for n in ast.walk(branch) if isinstance(n, ast.ImportFrom)]
    assert not [m for m in taken if m and "spark" in m], taken


def test_one_list_of_endpoint_schemes() -> None:
    """The schemes are written once, in ``chat/schemes.py``: no other tuple or set of them."""
    schemes = {"openai", "azure", "endpoints"}
    copies = []
    for module, path in MODULES.items():
        if module == f"{ROOT}.chat.schemes":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and len(node.elts) > 1:
                words = [
                    e.value.removesuffix(":/")
                    for e in node.elts
                    if isinstance(e, ast.Constant) and isinstance(e.value, str)
                ]
                if len(words) == len(node.elts) and set(words) <= schemes:
                    copies.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert not copies, "use mlflow_llm_eval.chat.schemes instead of a copy: " + ", ".join(copies)
