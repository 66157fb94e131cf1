"""Docstring examples run through pytest's ``--doctest-modules`` over the whole package and the
test helpers (configured in pyproject.toml), not through hand-kept module lists. This checks the
configuration stays, and runs the one docstring outside those folders (examples/models.py)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import sys
import tomllib
from pathlib import Path

import mlflow_llm_eval

ROOT = Path(__file__).resolve().parents[2]


def test_doctest_modules_is_configured_for_the_package() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "--doctest-modules" in config["addopts"]
    assert {"tests", "mlflow_llm_eval"} <= set(config["testpaths"])
    assert "ELLIPSIS" in config["doctest_optionflags"]


def test_every_package_module_has_a_docstring() -> None:
    missing = []
    for info in pkgutil.walk_packages(mlflow_llm_eval.__path__, "mlflow_llm_eval."):
        if info.name.endswith("__main__"):
            continue
        if not importlib.import_module(info.name).__doc__:
            missing.append(info.name)
    assert not missing, f"modules without a docstring: {missing}"


def test_example_models_docstring() -> None:
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        module = importlib.import_module("models")
        result = doctest.testmod(module)
    finally:
        sys.path.pop(0)
    assert result.attempted > 0 and result.failed == 0
