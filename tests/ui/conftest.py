"""Browser test fixtures: a real `mlflow server` (sqlite store, free loopback port) and
headless Debian Chromium driven by selenium + chromedriver (installed by setup.sh).

Skipped, with the reason, when chromium, chromedriver or selenium is missing. Screenshots go to
the test's tmp dir; with ``MLFLOW_LLM_EVAL_SCREENSHOTS=<dir>`` they are also copied there (the
the docs' images: ``MLFLOW_LLM_EVAL_SCREENSHOTS=docs/screenshots .venv/bin/python -m pytest -q
-m ui tests/ui``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
    "--window-size=2000,1000",
)


def missing_browser() -> str | None:
    """Why the browser test cannot run here, or None."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    if not CHROMIUM or not CHROMEDRIVER:
        return "Debian's chromium and chromium-driver are not installed (setup.sh installs them)"
    return None


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from support.mlflow_server import mlflow_server as start

    root: Path = tmp_path_factory.mktemp("ui-server")
    with start(root, env={"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}) as url:
        yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory):
    """save(driver, name): a PNG under the test's tmp dir (and $MLFLOW_LLM_EVAL_SCREENSHOTS)."""
    directory = tmp_path_factory.mktemp("screenshots")
    extra = os.environ.get("MLFLOW_LLM_EVAL_SCREENSHOTS")

    def save(driver, name: str) -> Path:
        path = directory / f"{name}.png"
        driver.save_screenshot(str(path))
        if extra:
            Path(extra).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(extra) / path.name)
        return path

    return save
