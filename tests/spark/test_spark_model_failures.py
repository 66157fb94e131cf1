"""A model under test that fails keeps its reason on Spark too (issue 17, part 4).

An endpoint model scored inside the partitions (``le.evaluate`` on a Spark DataFrame, local
Spark), against the local fake OpenAI server answering HTTP 429, HTTP 500 or nothing (a
timeout) for chosen rows: the written results table and the logged sample carry the model's
``outputs/status`` and ``outputs/reason``, and every metric that needed the output marks those
rows ``model_failed`` with the model's reason: the same statuses, reasons and columns as the
classic door (``mlflow.evaluate``) gives for the same rows and server.
"""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
import pytest
from support.fake_openai import FakeOpenAI, Faults, LoggedRequest

import mlflow_llm_eval as le
from mlflow_llm_eval.core.types import Status
from mlflow_llm_eval.judge.endpoint_model import EndpointModel

pytestmark = pytest.mark.usefixtures("mlflow_store")
ROWS = 12
#: Row -> what the server answers it (every other row is answered).
FAULTS = {2: "rate_limit", 5: "server_error", 7: "rate_limit", 9: "timeout"}
EXPECTED = {2: "rate_limited", 5: "server_error", 7: "rate_limited", 9: "timeout"}
METRICS = ("exact_match/v1", "token_count")


class FaultsByRow(FakeOpenAI):
    """The fake server, failing the requests whose prompt is one of ``by_row``'s rows."""

    by_row: dict[int, str] = FAULTS

    def _begin(self, log: LoggedRequest) -> str | None:
        fault = super()._begin(log)
        if fault is not None or not log.admitted:
            return fault
        row = log.prompt.strip().removeprefix("question ")
        return self.by_row.get(int(row)) if row.isdigit() else None


def _cells(values: pd.Series) -> list[object]:
    """Cells to compare across doors: a missing value as None (Parquet reads it as NaN)."""
    return [None if not isinstance(v, str) and pd.isna(v) else v for v in values.tolist()]


RUN_KEY = "sk-local-0123456789"  # the endpoint model's key on the driver
#: A user column (issue 17, part 3): logged as given but for the run's own key.
NOTES = ["Jane Austen", "export api_key=sk-abc123def456ghi789jkl", f"echo {RUN_KEY}"]


def data() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "inputs": [f"question {i}" for i in range(ROWS)],
            "note": [NOTES[i % 3] for i in range(ROWS)],
            # last: the classic door puts the targets after the features, Spark keeps the order
            "targets": [f"QUESTION {i}" for i in range(ROWS)],
        }
    )


@pytest.fixture()
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    with FaultsByRow(responder=str.upper, faults=Faults(hang_seconds=1.5)) as fake:
        monkeypatch.setenv("OPENAI_API_KEY", RUN_KEY)
        monkeypatch.setenv("GIT_AUTHOR_NAME", "Jane Austen")  # an "AUTH" variable, no secret
        monkeypatch.setenv("DOCS_API_TOKEN", "sk-abc123def456ghi789jkl")  # not the run's
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        monkeypatch.delenv("OPENAI_API_BASE", raising=False)
        monkeypatch.setenv("MLFLOW_LLM_EVAL_CACHE_DIR", str(tmp_path / "cache"))
        yield fake


def model() -> EndpointModel:
    # one attempt per row, no wait after a 429, no breaker: each row ends as the server said
    return EndpointModel.from_uri(
        "openai:/small",
        "{inputs}",
        max_attempts=1,
        max_wait=0,
        max_concurrency=4,
        timeout=0.5,
        breaker_threshold=1000,
        cache=False,
    )


def _by_input(table: pd.DataFrame) -> pd.DataFrame:
    return table.sort_values("inputs", key=lambda s: s.str.split().str[-1].astype(int)).reset_index(
        drop=True
    )


def _logged(run_id: str) -> pd.DataFrame:
    return mlflow.load_table("eval_results_table.json", run_ids=[run_id])


def _spark_run(spark, tmp_path: Path, frame: pd.DataFrame, name: str):
    sdf = spark.createDataFrame(frame).repartition(2)
    with mlflow.start_run() as run:
        result = le.evaluate(
            data=sdf,
            model=model(),
            targets="targets",
            extra_metrics=[le.exact_match(), le.token_count()],
            results_table=str(tmp_path / name),
        )
    written = _by_input(pd.read_parquet(tmp_path / name))
    return result, written, _by_input(_logged(run.info.run_id))


def test_spark_marks_the_models_failures_as_the_classic_door(spark, server, tmp_path) -> None:
    result, written, logged = _spark_run(spark, tmp_path, data(), "spark")
    failed = [i for i in range(ROWS) if i in FAULTS]
    assert written["outputs/status"].tolist() == [EXPECTED.get(i, "ok") for i in range(ROWS)]
    assert written.loc[failed, "outputs"].isna().all()
    assert written.loc[failed, "outputs/reason"].str.len().gt(0).all()
    assert written.drop(index=failed)["outputs/reason"].isna().all()
    for metric in METRICS:
        assert written[f"{metric}/status"].tolist() == [
            Status.MODEL_FAILED if i in FAULTS else "ok" for i in range(ROWS)
        ]
        for i in failed:
            assert written.loc[i, f"{metric}/reason"] == (
                f"the model under test failed on this row (outputs/status {EXPECTED[i]}): "
                f"{written.loc[i, 'outputs/reason']}"
            )
    assert result.metrics["exact_match/v1/count"] == ROWS - len(FAULTS)

    with mlflow.start_run():  # the classic door, the same rows and server
        classic = mlflow.evaluate(
            model=model(),
            data=data(),
            targets="targets",
            evaluators="llm_eval",
            extra_metrics=[le.exact_match(), le.token_count()],
        )
    table = _by_input(classic.tables["eval_results_table"])
    compared = ["outputs", "outputs/status", "outputs/reason"]
    compared += [f"{m}/{s}" for m in METRICS for s in ("status", "reason")]
    assert list(logged.columns) == list(table.columns)  # the logged sample: the same layout
    for column in compared:
        assert _cells(written[column]) == _cells(table[column]), column
        assert _cells(logged[column]) == _cells(table[column]), column
    for key in ("exact_match/v1/count", "exact_match/v1/mean", "token_count/mean"):
        assert result.metrics[key] == pytest.approx(classic.metrics[key]), key
    # the user's column in the logged sample: as given, but the run's key (as the classic door)
    shown = [NOTES[i % 3].replace(RUN_KEY, "[REDACTED]") for i in range(ROWS)]
    assert logged["note"].tolist() == shown == table["note"].tolist()
    assert written["note"].tolist() == data()["note"].tolist()  # the full table: untouched


def test_a_partition_whose_every_row_was_rate_limited_keeps_its_rows(
    spark, server, tmp_path
) -> None:
    """Every row 429: on Spark a batch is one part of the run, so its rows are kept, marked
    (a classic call raises: see tests/mlflow_adapter); a refused request still fails the run."""
    server.by_row = {i: "rate_limit" for i in range(ROWS)}
    _, written, logged = _spark_run(spark, tmp_path, data(), "all")
    assert set(written["outputs/status"]) == {"rate_limited"}
    assert set(written["token_count/status"]) == {Status.MODEL_FAILED}
    assert set(logged["token_count/status"]) == {Status.MODEL_FAILED}

    server.api_key = "sk-another-key-the-run-lacks"  # HTTP 401 on every row: request_error
    with pytest.raises(Exception, match="the endpoint failed on every row"):
        _spark_run(spark, tmp_path, data(), "refused")
