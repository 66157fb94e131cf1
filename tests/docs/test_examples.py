"""Every ```python block of README.md and docs/ runs, page by page, as a reader would run it.

A page's blocks run in order in one namespace (a later block may use an earlier one's names),
in the session's sqlite MLflow store, with ``OPENAI_BASE_URL``/``OPENAI_API_KEY`` pointed at the
local fake OpenAI server (tests/support) so judges answer, and a local Spark session available
when a block starts one. A block that cannot run offline is fenced ```python title="not run";
those are counted and capped (:data:`NOT_RUN_LIMIT`) so the docs stay mostly executable.
The metric reference's examples are generated and run when the site builds (docs/hooks).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.fake_openai import FakeOpenAI

ROOT = Path(__file__).resolve().parents[2]
PAGES = [
    ROOT / "README.md",
    *sorted(p for p in (ROOT / "docs").rglob("*.md") if "hooks" not in p.parts),
]
FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?:python|py)(?P<info>[^\n]*)\n(?P<code>.*?)^(?P=indent)```[ \t]*$",
    flags=re.S | re.M,
)
#: Hand-written blocks that may be marked not run (a registered model URI, Hub/GPU models).
NOT_RUN_LIMIT = 6
#: Environment every page runs with (restored after).
GENAI_ENV = {"MLFLOW_GENAI_EVAL_MAX_WORKERS": "2", "MLFLOW_ENABLE_ASYNC_TRACE_LOGGING": "false"}


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    code: str
    run: bool


def blocks(page: Path) -> list[Block]:
    """The page's Python blocks, dedented, with their first line number."""
    text = page.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start("code")) + 1
        code = textwrap.dedent(match.group("code"))
        found.append(Block(page, line, code, 'title="not run"' not in match.group("info")))
    return found


def _pages_with_code() -> list[Path]:
    return [p for p in PAGES if any(b.run for b in blocks(p))]


def test_blocks_are_found_and_few_are_not_run() -> None:
    every = [b for page in PAGES for b in blocks(page)]
    assert len(every) >= 15 and any(b.page.name == "README.md" for b in every)
    not_run = [f"{b.page.relative_to(ROOT)}:{b.line}" for b in every if not b.run]
    assert len(not_run) <= NOT_RUN_LIMIT, f"too many blocks marked not run: {not_run}"


def test_readme_is_a_page_long() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 200
    first = readme.split("```bash\n", 1)[1].split("```", 1)[0]
    assert "./setup.sh && .venv/bin/mlflow-llm-eval run examples/eval.yaml" in first
    assert ".venv/bin/python -m pytest -q" in first


def test_the_feature_by_door_table_has_one_source() -> None:
    """README holds the feature x door table; docs/doors.md includes it (pymdownx.snippets)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("--8<-- [start:doors]", 1)[1].split("--8<-- [end:doors]", 1)[0]
    assert "| Feature | classic | Spark" in table and table.count("\n|") >= 10
    doors = (ROOT / "docs" / "doors.md").read_text(encoding="utf-8")
    assert '--8<-- "README.md:doors"' in doors and "| Feature | classic |" not in doors


@pytest.fixture(scope="module")
def judge_server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture()
def page_env(
    judge_server: FakeOpenAI, mlflow_store: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow_llm_eval.chat.endpoint import forget

    forget()
    for key, value in {
        **GENAI_ENV,
        "OPENAI_BASE_URL": judge_server.base_url,
        "OPENAI_API_KEY": "sk-docs-example-not-a-key",
        "MLFLOW_LLM_EVAL_CACHE_DIR": str(tmp_path / "cache"),
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("OPENAI_API_BASE", raising=False)
    monkeypatch.delenv("MLFLOW_LLM_EVAL_JUDGE_MODEL", raising=False)


@pytest.fixture(scope="module")
def spark_pages() -> Iterator[None]:
    """Pages share the Spark session the first one starts; stopped after the module (tests/spark
    starts its own, with other settings)."""

    def running() -> object:
        if "pyspark" not in sys.modules:
            return None
        from pyspark import SparkContext

        return SparkContext._active_spark_context  # the process's one context, any thread

    before = running()
    yield
    started = running()
    if started is not None and before is None:
        started.stop()


def _spark_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java (java not on PATH)")
    pytest.importorskip("pyspark", reason="the [spark] extra is not installed")
    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), *paths]))


@pytest.mark.parametrize("page", _pages_with_code(), ids=lambda p: str(p.relative_to(ROOT)))
def test_page_examples_run(
    page: Path,
    page_env: None,
    spark_pages: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import mlflow

    runnable = [b for b in blocks(page) if b.run]
    if any("local_session" in b.code for b in runnable):
        _spark_ready(monkeypatch)
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    for block in runnable:
        code = compile(block.code, f"{page.relative_to(ROOT)}:{block.line}", "exec")
        try:
            exec(code, namespace)  # noqa: S102 - running the documentation's own examples
        except Exception as error:
            raise AssertionError(
                f"{page.relative_to(ROOT)}:{block.line}: the example "
                f"raised {type(error).__name__}: {error}"
            ) from error
        finally:
            while mlflow.active_run() is not None:
                mlflow.end_run()
    assert capsys.readouterr().out.strip(), "the examples print what they show"
