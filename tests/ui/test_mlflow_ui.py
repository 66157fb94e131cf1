"""What a person sees in the MLflow UI, in headless Chromium: our metrics on the run pages, the
per-row table of a classic llm_eval run, and the assessments per trace of an MLflow 3 run.

Selected with ``-m ui``; runs in the default suite when chromium + chromedriver + selenium are
installed, else skips with the reason. Waits for elements, never sleeps.
"""

from __future__ import annotations

import os
import shutil

import pandas as pd
import pytest

import mlflow_llm_eval as le
from support.fake_openai import FakeOpenAI

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    if not CHROMIUM or not shutil.which("chromedriver"):
        return "Debian's chromium and chromium-driver are not installed (setup.sh installs them)"
    return None


pytestmark = [pytest.mark.ui, pytest.mark.skipif(_missing() is not None, reason=str(_missing()))]

QUESTIONS = ["What is the capital of France?", "Which planet is the largest?", "Who wrote Hamlet?"]
TARGETS = ["Paris", "Jupiter", "William Shakespeare"]
ANSWERS = [
    "The capital of France is Paris.",
    "Saturn is the largest planet.",
    "Hamlet was written by William Shakespeare.",
]
WAIT = 45


@pytest.fixture(scope="module")
def logged(mlflow_server, tmp_path_factory):
    """(a) a classic llm_eval evaluation and (b) an mlflow.genai.evaluate run, on the server."""
    import mlflow

    saved = {
        k: os.environ.get(k)
        for k in (
            "MLFLOW_TRACKING_URI",
            "MLFLOW_GENAI_EVAL_MAX_WORKERS",
            "MLFLOW_ENABLE_ASYNC_TRACE_LOGGING",
            "OPENAI_API_KEY",
            "OPENAI_BASE_URL",
            "MLFLOW_LLM_EVAL_CACHE_DIR",
        )
    }
    with FakeOpenAI() as judge:
        os.environ.update(
            {
                "MLFLOW_TRACKING_URI": mlflow_server,
                "MLFLOW_GENAI_EVAL_MAX_WORKERS": "2",
                "MLFLOW_ENABLE_ASYNC_TRACE_LOGGING": "false",
                "OPENAI_API_KEY": "sk-ui-test",
                "OPENAI_BASE_URL": judge.base_url,
                "MLFLOW_LLM_EVAL_CACHE_DIR": str(tmp_path_factory.mktemp("cache")),
            }
        )
        mlflow.set_tracking_uri(mlflow_server)
        experiment_id = mlflow.create_experiment("llm-eval-ui")
        mlflow.set_experiment(experiment_id=experiment_id)
        frame = pd.DataFrame({"inputs": QUESTIONS, "targets": TARGETS, "predictions": ANSWERS})
        with mlflow.start_run(run_name="classic-llm-eval") as classic_run:
            classic = mlflow.evaluate(
                data=frame,
                targets="targets",
                predictions="predictions",
                model_type=None,
                evaluators="llm_eval",
                extra_metrics=[le.rougeL(), le.exact_match(), le.flesch_kincaid_grade_level()],
            )
        data = [
            {"inputs": {"question": q}, "outputs": a, "expectations": {"expected_response": t}}
            for q, t, a in zip(QUESTIONS, TARGETS, ANSWERS)
        ]
        with mlflow.start_run(run_name="genai-llm-eval") as genai_run:
            genai = mlflow.genai.evaluate(
                data=data,
                scorers=[
                    le.scorers.rougeL(),
                    le.scorers.flesch_kincaid_grade_level(),
                    le.scorers.answer_correctness(model="openai:/gpt-4o-mini", cache=False),
                ],
            )
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    return {
        "url": mlflow_server,
        "experiment_id": experiment_id,
        "classic": (classic_run.info.run_id, classic),
        "genai": (genai_run.info.run_id, genai),
    }


def _body_text(driver) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.TAG_NAME, "body").text


def _open_and_wait(driver, url: str, texts: list[str]) -> str:
    """Open ``url`` and wait until every text is on the page (the React app renders late)."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    try:
        WebDriverWait(driver, WAIT, poll_frequency=0.2).until(
            lambda d: all(t in _body_text(d) for t in texts)
        )
    except Exception:  # noqa: BLE001 - any wait failure is reported with the page's text
        missing = [t for t in texts if t not in _body_text(driver)]
        raise AssertionError(
            f"{url}: not shown: {missing}\n--- page text ---\n{_body_text(driver)[:3000]}"
        ) from None
    return _body_text(driver)


def _score_text(value: float, decimals: int) -> str:
    """How the UI prints a score: rounded to ``decimals``, trailing zeros dropped."""
    return f"{round(value, decimals):.{decimals}f}".rstrip("0").rstrip(".")


def _click(driver, xpath: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, WAIT).until(ec.element_to_be_clickable((By.XPATH, xpath))).click()


def _wait_for(driver, texts: list[str]) -> str:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, WAIT, poll_frequency=0.2).until(
        lambda d: all(t in _body_text(d) for t in texts)
    )
    return _body_text(driver)


def test_classic_run_page_shows_our_metrics(logged, browser, screenshots) -> None:
    run_id, result = logged["classic"]
    expected = ["classic-llm-eval"]
    for key in (
        "rougeL/v1/mean",
        "exact_match/v1/mean",
        "flesch_kincaid_grade_level/v1/mean",
        "rougeL/v1/mean_ci_low",
        "rougeL/v1/unscored",
    ):
        expected += [key, repr(float(result.metrics[key])).removesuffix(".0")]
    _open_and_wait(
        browser, f"{logged['url']}/#/experiments/{logged['experiment_id']}/runs/{run_id}", expected
    )
    screenshots(browser, "classic_run_metrics")


def test_classic_per_row_table_in_the_run_artifacts(logged, browser, screenshots) -> None:
    run_id, result = logged["classic"]
    table = result.tables["eval_results_table"]
    expected = (
        [
            "eval_results_table.json",
            "rougeL/v1/score",
            "rougeL/v1/status",
            "flesch_kincaid_grade_level/v1/score",
        ]
        + QUESTIONS
        + ANSWERS
    )
    expected += [_score_text(v, 10) for v in table["rougeL/v1/score"]]
    expected += [_score_text(v, 10) for v in table["flesch_kincaid_grade_level/v1/score"]]
    _open_and_wait(
        browser,
        f"{logged['url']}/#/experiments/{logged['experiment_id']}/runs/"
        f"{run_id}/artifacts/eval_results_table.json",
        expected,
    )
    screenshots(browser, "classic_results_table")


def test_classic_artifact_compare_view_shows_per_row_scores(logged, browser, screenshots) -> None:
    _, result = logged["classic"]
    _open_and_wait(
        browser,
        f"{logged['url']}/#/experiments/{logged['experiment_id']}/runs?compareRunsMode=ARTIFACT",
        ["Table:", "eval_results_table.json", "Compare:", "classic-llm-eval"] + QUESTIONS,
    )
    _click(browser, "//button[contains(., 'Compare:')]")
    _click(browser, "//label[normalize-space()='rougeL/v1/score']")
    scores = [_score_text(v, 10) for v in result.tables["eval_results_table"]["rougeL/v1/score"]]
    text = _wait_for(browser, ["rougeL/v1/score"] + scores)
    assert text.index(QUESTIONS[0]) < text.index(scores[0], text.index(QUESTIONS[0]))
    screenshots(browser, "classic_artifact_compare")


def test_evaluation_runs_list_shows_both_runs_and_our_metrics(logged, browser, screenshots) -> None:
    _, genai = logged["genai"]
    _, classic = logged["classic"]
    expected = ["Evaluation runs", "genai-llm-eval", "classic-llm-eval"]
    for key in ("rougeL/mean", "answer_correctness/mean", "flesch_kincaid_grade_level/mean"):
        expected += [key, repr(float(genai.metrics[key])).removesuffix(".0")]
    expected += ["rougeL/v1/mean", repr(float(classic.metrics["rougeL/v1/mean"]))]
    _open_and_wait(
        browser,
        f"{logged['url']}/#/experiments/{logged['experiment_id']}/evaluation-runs",
        expected,
    )
    screenshots(browser, "evaluation_runs")


def test_genai_run_shows_the_assessments_per_trace(logged, browser, screenshots) -> None:
    run_id, genai = logged["genai"]
    frame = genai.result_df
    expected = (
        [
            "genai-llm-eval",
            "Assessments",
            "rougeL",
            "answer_correctness",
            "flesch_kincaid_grade_level",
        ]
        + QUESTIONS
        + TARGETS
    )
    for column in ("rougeL/value", "flesch_kincaid_grade_level/value"):
        expected += [_score_text(v, 3) for v in frame[column]]
    expected += [str(int(v)) for v in frame["answer_correctness/value"]]
    _open_and_wait(
        browser,
        f"{logged['url']}/#/experiments/{logged['experiment_id']}/evaluation-runs/{run_id}/traces",
        expected,
    )
    screenshots(browser, "genai_assessments_per_trace")


def test_one_trace_shows_each_scorers_feedback(logged, browser, screenshots) -> None:
    _, genai = logged["genai"]
    row = genai.result_df.iloc[0]
    _open_and_wait(
        browser,
        f"{logged['url']}/#/experiments/{logged['experiment_id']}/traces?"
        f"selectedEvaluationId={row['trace_id']}",
        ["Assess", row["request"]["question"]],
    )
    _click(browser, "//button[contains(., 'Assess')]")
    expected = [
        "Feedback (3)",
        "rougeL",
        repr(float(row["rougeL/value"])).removesuffix(".0"),
        "flesch_kincaid_grade_level",
        repr(float(row["flesch_kincaid_grade_level/value"])),
        "answer_correctness",
        "Expectations (1)",
        "expected_response",
    ]
    _wait_for(browser, expected)
    screenshots(browser, "genai_trace_feedback")
