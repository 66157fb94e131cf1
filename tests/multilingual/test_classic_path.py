"""mlflow.evaluate(..., evaluators="llm_eval") on the multilingual corpus: scores, signatures,
per-language aggregates and the language settings of evaluator_config."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pandas as pd
import pytest

import mlflow_llm_eval as le
from multilingual.corpus import LANGUAGES, pairs
from mlflow_llm_eval.core.by_language import by_language
from mlflow_llm_eval.core.types import MetricResult


def _data() -> pd.DataFrame:
    rows = pairs("identical") + pairs("overlapping")
    return pd.DataFrame(
        {
            "language": [l for l, _, _ in rows],
            "predictions": [p for _, p, _ in rows],
            "targets": [t for _, _, t in rows],
        }
    )


def _evaluate(data: pd.DataFrame, metrics, **config):
    with mlflow.start_run() as run:
        result = mlflow.evaluate(
            data=data,
            targets="targets",
            predictions="predictions",
            model_type=None,
            evaluators="llm_eval",
            extra_metrics=metrics,
            evaluator_config=config or None,
        )
    return result, run.info.run_id


def test_per_language_aggregates_and_signatures(mlflow_store) -> None:
    data = _data().drop(columns=["language"])  # detected, not given
    result, run_id = _evaluate(data, [le.rougeL(), le.bleu(), le.flesch_kincaid_grade_level()])
    table = result.tables["eval_results_table"]
    scores = table["rougeL/v1/score"].tolist()
    for language in LANGUAGES:
        expected = np.mean(
            [
                s
                for s, (l, _, _) in zip(scores, pairs("identical") + pairs("overlapping"))
                if l == language
            ]
        )
        assert result.metrics[f"rougeL/v1/lang_{language}/mean"] == pytest.approx(expected)
        assert result.metrics[f"rougeL/v1/lang_{language}/count"] == 2
    assert "flesch_kincaid_grade_level/v1/lang_ko/mean" not in result.metrics  # NaN: not logged
    assert result.metrics["flesch_kincaid_grade_level/v1/lang_ko/unscored"] == 2
    assert set(table.loc[:9, "rougeL/v1/score"]) == {1.0}  # identical pairs
    client = mlflow.MlflowClient()
    run = client.get_run(run_id)
    assert run.data.metrics["rougeL/v1/lang_ja/mean"] == pytest.approx(
        result.metrics["rougeL/v1/lang_ja/mean"]
    )
    assert run.data.metrics["bleu/v1/corpus"] == pytest.approx(result.metrics["bleu/v1/corpus"])
    assert run.data.tags["llm_eval.signature.rougeL/v1"] == le.rougeL().signature
    assert run.data.tags["llm_eval.signature.bleu/v1"].startswith("nrefs:1|case:mixed|eff:yes|tok:")
    path = client.download_artifacts(run_id, "llm_eval/by_language.json")
    with open(path) as handle:
        logged = json.load(handle)
    assert logged["languages"] == sorted(LANGUAGES)
    assert {"metric": "rougeL/v1", "language": "ko"}.items() <= logged["rows"][0].items() or any(
        r["metric"] == "rougeL/v1" and r["language"] == "ko" for r in logged["rows"]
    )


def test_language_column_and_evaluation_language(mlflow_store) -> None:
    data = _data()
    data["lang"] = ["en"] * len(data)  # everything claimed English: readability scores every row
    result, _ = _evaluate(data, [le.ari_grade_level()], language_column="lang")
    statuses = result.tables["eval_results_table"]["ari_grade_level/v1/status"]
    assert set(statuses) == {"ok"}
    assert not any(k.startswith("ari_grade_level/v1/lang_") for k in result.metrics)  # one language
    result, _ = _evaluate(
        data.drop(columns=["lang", "language"]), [le.ari_grade_level()], language="ko"
    )
    assert set(result.tables["eval_results_table"]["ari_grade_level/v1/status"]) == {
        "unsupported_language"
    }
    # a column named `language` is read as the row's language without any setting
    result, _ = _evaluate(data.drop(columns=["lang"]), [le.ari_grade_level()])
    assert result.metrics["ari_grade_level/v1/lang_en/count"] == 2
    with pytest.raises(ValueError, match="language_column"):
        _evaluate(data, [le.ari_grade_level()], language_column=3)


def test_by_language_is_a_pure_function() -> None:
    result = MetricResult([1.0, 0.5, 0.0, float("nan")], ["ok"] * 3 + ["empty"], [None] * 4)
    table = by_language(["ko", "ko", "en", "en"], {"m/v1": (result, "bounded", None)})
    assert table["m/v1"]["ko"]["mean"] == 0.75 and table["m/v1"]["ko"]["count"] == 2
    assert table["m/v1"]["en"]["unscored"] == 1
    assert by_language(["ko"] * 4, {"m/v1": (result, "bounded", None)}) == {}
