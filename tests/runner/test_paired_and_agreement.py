"""Paired comparisons in the runner (table, report, parent run) and judge–human agreement."""

from __future__ import annotations

import json
import re

import mlflow
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import cohen_kappa_score, confusion_matrix

import mlflow_llm_eval as le
from mlflow_llm_eval.agreement import judge_agreement
from mlflow_llm_eval.runner.multi import evaluate_models

N = 40
ANSWERS = [f"a{i}" for i in range(N)]


def _model(right: set[int]):
    def predict(inputs: pd.DataFrame) -> list[str]:
        return [ANSWERS[i] if i in right else "wrong" for i in range(len(inputs))]

    return predict


@pytest.fixture(scope="module")
def run(sqlite_tracking_uri: str, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("paired")
    rows = [{"question": f"q{i}", "answer": ANSWERS[i]} for i in range(N)]
    (folder / "qa.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = {
        "experiment": f"paired-{folder.name}",
        "dataset": {"path": "qa.jsonl", "inputs": "question", "targets": "answer"},
        "models": [
            {"name": "weak", "python": _model(set(range(8)))},
            {"name": "near", "python": _model(set(range(30)))},
            {"name": "lead", "python": _model(set(range(31)))},
        ],
        "metrics": ["exact_match"],
        "select": {"maximize": "exact_match/v1/mean", "require_significance": 0.05},
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", sqlite_tracking_uri)
        mlflow.set_tracking_uri(sqlite_tracking_uri)
        result = evaluate_models(config, base_dir=folder)
    return result


def test_an_insignificant_lead_does_not_decide_and_the_reason_says_so(run) -> None:
    assert run.selection.winner == "near"  # lead is 1 row ahead: tied, model order decides
    assert "not significantly better than near" in run.selection.reason
    assert run.selection.tie_broken_by == "model order"


def test_paired_differences_are_in_the_table_the_parent_run_and_the_report(run) -> None:
    by = {(c.model, c.metric): c for c in run.comparisons}
    weak = by[("weak", "exact_match/v1")]
    assert weak.reference == "near" and weak.result.mean_diff == pytest.approx((30 - 8) / N)
    assert weak.p_holm < 0.001 and weak.result.ci_low > 0
    assert by[("lead", "exact_match/v1")].result.p_value == 1.0  # one differing row
    text = run.summary()
    assert "near - model (paired, p Holm)" in text and "(reference)" in text
    client = mlflow.MlflowClient()
    logged = client.get_run(run.parent_run_id).data.metrics
    assert logged["paired/near-vs-weak/exact_match/v1/diff"] == pytest.approx(weak.result.mean_diff)
    assert logged["paired/near-vs-weak/exact_match/v1/p_holm"] == pytest.approx(weak.p_holm)
    path = client.download_artifacts(run.parent_run_id, "llm_eval/paired_comparisons.json")
    artifact = json.loads(open(path).read())
    assert "sign-flip" in artifact["test"] and len(artifact["comparisons"]) == 2
    html = open(client.download_artifacts(run.parent_run_id, "llm_eval/comparison.html")).read()
    assert "Paired differences (near − each model)" in html and "data:image/png" in html


def test_zero_right_is_not_reported_as_a_zero_width_interval(run) -> None:
    metrics = run.outcome("weak").metrics
    assert metrics["exact_match/v1/mean_ci_high"] > metrics["exact_match/v1/mean"] > 0


def test_judge_agreement_matches_sklearn_and_scipy() -> None:
    rng = np.random.default_rng(2)
    human = rng.integers(1, 6, 60)
    judge = np.clip(human + rng.integers(-1, 2, 60), 1, 5).astype(float)
    judge[[3, 9]] = np.nan
    frame = pd.DataFrame({"j": judge, "h": human})
    found = judge_agreement(frame, "j", "h", labels=(1, 5))
    keep = ~np.isnan(judge)
    h, j = human[keep], judge[keep].astype(int)
    assert (found.n, found.skipped) == (58, 2)
    assert found.exact == pytest.approx(np.mean(h == j))
    assert found.kappa_quadratic == pytest.approx(cohen_kappa_score(h, j, weights="quadratic"))
    assert found.spearman == pytest.approx(stats.spearmanr(h, j).statistic)
    assert found.confusion == confusion_matrix(h, j, labels=[1, 2, 3, 4, 5]).tolist()


def test_bad_human_labels_name_the_column_and_row() -> None:
    frame = pd.DataFrame({"j": [1.0, 2.0], "h": [1, "good"]})
    with pytest.raises(ValueError, match=r"column 'h' holds a non-numeric label at row 1"):
        judge_agreement(frame, "j", "h")
    with pytest.raises(KeyError, match="human_score"):
        judge_agreement(frame, "j", "human_score")


def test_human_labels_in_evaluator_config_log_agreement(sqlite_tracking_uri: str) -> None:
    mlflow.set_tracking_uri(sqlite_tracking_uri)
    grader = le.make_row_metric(
        lambda p: float(len(p) % 5 + 1), name="grader", value_kind="ordinal", value_range=(1, 5)
    )
    df = pd.DataFrame(
        {
            "inputs": ["x"] * 6,
            "predictions": ["a", "bb", "ccc", "dddd", "eeeee", "ff"],
            "human_score": [2, 3, 4, 5, 1, 3],
        }
    )
    with mlflow.start_run() as active:
        result = mlflow.evaluate(
            data=df,
            predictions="predictions",
            model_type=None,
            evaluators="llm_eval",
            extra_metrics=[grader],
            evaluator_config={"human_labels": {"grader": "human_score"}},
        )
    assert result.metrics["grader/v1/human_exact_agreement"] == 1.0
    assert result.metrics["grader/v1/human_kappa"] == pytest.approx(1.0)
    path = mlflow.MlflowClient().download_artifacts(
        active.info.run_id, "llm_eval/judge_agreement.json"
    )
    assert json.loads(open(path).read())["grader/v1"]["confusion"][0] == [1, 0, 0, 0, 0]


@pytest.mark.parametrize(
    "labels,message",
    [
        (
            {"exact_match": "no_such_column"},
            "human_labels.exact_match: column 'no_such_column' is not in the dataset",
        ),
        (
            {"answer_correctness": "answer"},
            "human_labels.answer_correctness: 'answer_correctness' is not one of the metrics",
        ),
    ],
)
def test_human_labels_in_the_config_are_checked_before_any_run(tmp_path, labels, message) -> None:
    from mlflow_llm_eval.config.loader import ConfigError, load_config
    from mlflow_llm_eval.runner.data import load_data

    (tmp_path / "qa.jsonl").write_text(json.dumps({"question": "q", "answer": "a"}) + "\n")
    config = {
        "dataset": {"path": "qa.jsonl", "inputs": "question", "targets": "answer"},
        "models": [{"name": "m", "python": "builtins:list"}],
        "metrics": ["exact_match"],
        "human_labels": labels,
    }
    with pytest.raises(ConfigError, match=message):
        load_data(load_config(config, base_dir=tmp_path))


def test_require_significance_needs_a_mean_objective() -> None:
    from mlflow_llm_eval.config.schema import SelectSpec

    with pytest.raises(ValueError, match="must be a mean"):
        SelectSpec.model_validate({"maximize": "latency/v1/p90", "require_significance": 0.05})
    assert (
        SelectSpec.model_validate(
            {"maximize": "x/v1/mean", "require_significance": 0.01}
        ).require_significance
        == 0.01
    )


def test_a_judge_against_the_fake_server_logs_its_agreement_with_human_labels(
    sqlite_tracking_uri: str, tmp_path
) -> None:
    from support.fake_openai import FakeOpenAI

    # The fake judge gives 5 when the answer holds "Paris", else 2; humans gave 5/1/2 labels.
    rows = [
        {"question": f"capital {i}?", "answer": "Paris", "human_score": h}
        for i, h in enumerate([5, 5, 5, 1, 2, 2, 5, 2])
    ]
    (tmp_path / "qa.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    answers = ["Paris", "Paris", "Paris", "Rome", "Rome", "Rome", "Paris", "Paris"]
    config = {
        "experiment": f"agree-{tmp_path.name}",
        "dataset": {"path": "qa.jsonl", "inputs": "question", "targets": "answer"},
        "models": [{"name": "m", "python": lambda frame: answers[: len(frame)]}],
        "metrics": ["answer_correctness"],
        "judge": {"model": "openai:/fake-judge", "cache": False},
        "human_labels": {"answer_correctness": "human_score"},
    }

    def scorer(prompt: str) -> int:  # the text of the <output-...> block
        output = re.search(r"<output-\w+>\n(.*?)\n</output-", prompt, re.S)
        return 5 if output and "Paris" in output.group(1) else 2

    server = FakeOpenAI(scorer=scorer).start()
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("MLFLOW_TRACKING_URI", sqlite_tracking_uri)
            patch.setenv("OPENAI_API_KEY", "sk-agreement-test")
            patch.setenv("OPENAI_BASE_URL", server.base_url)
            mlflow.set_tracking_uri(sqlite_tracking_uri)
            result = evaluate_models(config, base_dir=tmp_path)
    finally:
        server.stop()
    outcome = result.outcome("m")
    judge = outcome.table["answer_correctness/v1/score"].tolist()
    human = [r["human_score"] for r in rows]
    assert set(judge) == {2.0, 5.0}  # the judge saw each answer
    assert outcome.metrics["answer_correctness/v1/human_exact_agreement"] == pytest.approx(
        np.mean([j == h for j, h in zip(judge, human)])
    )
    assert outcome.metrics["answer_correctness/v1/human_kappa"] == pytest.approx(
        cohen_kappa_score(
            human, [int(j) for j in judge], weights="quadratic", labels=[1, 2, 3, 4, 5]
        )
    )
    # (the scale's labels matter: sklearn's quadratic weights use label positions, so without
    # them 2 and 5 would be one step apart when 3 and 4 are never used)
    client = mlflow.MlflowClient()
    html = open(client.download_artifacts(outcome.run_id, "llm_eval/report.html")).read()
    assert "Judge–human agreement" in html and "confusion matrix" in html
    logged = json.loads(
        open(client.download_artifacts(outcome.run_id, "llm_eval/judge_agreement.json")).read()
    )
    assert logged["answer_correctness/v1"]["labels"] == [1, 2, 3, 4, 5]
