"""The generated pages: every registered metric and every config key appears, with no hand edit."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _hook(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        f"docs_hook_{name}", ROOT / "docs" / "hooks" / f"{name}.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def metric_reference() -> str:
    return str(_hook("metric_reference").render())


def test_every_registered_metric_has_a_section(metric_reference: str) -> None:
    import mlflow_llm_eval as le

    sections = re.findall(r"^## (\S+)$", metric_reference, flags=re.M)
    assert sections == le.available_metrics()


def test_a_metric_section_lists_version_columns_options_statuses_and_an_example(
    metric_reference: str,
) -> None:
    section = metric_reference.split("\n## exact_match\n", 1)[1].split("\n## ", 1)[0]
    assert "`exact_match/v1`" in section and "`predictions`, `targets`" in section
    assert "`strip = False`" in section and "`ignore_case = False`" in section
    statuses = re.findall(r"\[`([a-z_]+)`\]\(statuses\.md\)", section)
    assert {"ok", "missing", "not_text", "invalid_unicode", "error"} <= set(statuses)
    # the example ran while rendering: its printed value is in the page
    assert 'le.evaluate_sample("exact_match"' in section and "# 0 ok" in section


def test_judges_list_the_request_engine_statuses(metric_reference: str) -> None:
    section = metric_reference.split("\n## answer_correctness\n", 1)[1].split("\n## ", 1)[0]
    assert {"rate_limited", "parse_error", "endpoint_unavailable"} <= set(
        re.findall(r"\[`([a-z_]+)`\]", section)
    )
    assert 'title="not run"' in section  # needs an endpoint


def test_the_config_reference_covers_every_key() -> None:
    from mlflow_llm_eval.config.schema import DatasetSpec, EvalConfig, ModelSpec

    page = _hook("config_reference").render()
    for model, heading in (
        (EvalConfig, "### top level"),
        (DatasetSpec, "### `dataset`"),
        (ModelSpec, "### `models[]`"),
    ):
        section = page.split(heading + "\n", 1)[1].split("\n### ", 1)[0]
        for name, field in model.model_fields.items():
            assert f"| `{field.alias or name}` |" in section, (heading, name)


def test_benchmark_results_are_all_included() -> None:
    page = _hook("benchmark_results").render()
    for path in (ROOT / "benchmarks" / "results").glob("*.md"):
        assert f"### `{path.name}`" in page
