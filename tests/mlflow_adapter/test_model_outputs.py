"""Whatever a model returns becomes rows of the table, with a status: never a crash.

Through the model path (a callable that MLflow wraps as pyfunc), so the outputs reach the
evaluator as the model returned them (MLflow hashes only static frames).
"""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest

import mlflow_llm_eval as le
from mlflow_llm_eval.mlflow_adapter.predictions import model_outputs

QUESTIONS = pd.DataFrame({"inputs": ["q1", "q2", "q3"], "targets": ["a", "b", "c"]})


def _evaluate(outputs, data=QUESTIONS, **kwargs):
    def model(frame):
        return outputs() if callable(outputs) else outputs

    with mlflow.start_run():
        result = mlflow.evaluate(
            model,
            data,
            targets="targets",
            model_type=None,
            evaluators="llm_eval",
            extra_metrics=[le.exact_match(), le.token_count()],
            **kwargs,
        )
    return result, result.tables["eval_results_table"]


def test_all_strings_with_one_lone_surrogate(mlflow_store) -> None:
    """Under pandas 3 an all-string column would be pyarrow-backed and refuse the surrogate."""
    result, table = _evaluate(["a", "bad \ud800", "c"])
    assert table["exact_match/v1/status"].tolist() == ["ok", "invalid_unicode", "ok"]
    assert table["token_count/status"].tolist() == ["ok", "invalid_unicode", "ok"]
    assert table["outputs"].tolist() == ["a", "bad \\ud800", "c"]  # kept, escaped in the log
    assert result.metrics["exact_match/v1/count"] == 2


def test_none_among_strings(mlflow_store) -> None:
    result, table = _evaluate(["a", None, "c"])
    assert table["exact_match/v1/status"].tolist() == ["ok", "missing", "ok"]
    assert result.metrics["exact_match/v1/mean"] == 1.0


def test_bytes(mlflow_store) -> None:
    _, table = _evaluate([b"a", "b", b"\xff"])
    assert table["exact_match/v1/status"].tolist() == ["not_text", "ok", "not_text"]
    assert len(table) == 3


def test_a_generator(mlflow_store) -> None:
    result, table = _evaluate(lambda: (answer for answer in ["a", "x", "c"]))
    assert table["exact_match/v1/score"].tolist() == [1.0, 0.0, 1.0]
    assert table["outputs"].tolist() == ["a", "x", "c"]


def test_a_numpy_array_of_objects(mlflow_store) -> None:
    outputs = np.array(["a", {"answer": "b"}, ["c"]], dtype=object)
    _, table = _evaluate(outputs)
    assert table["exact_match/v1/status"].tolist() == ["ok", "not_text", "not_text"]
    assert table["outputs"].tolist()[1:] == ['{"answer": "b"}', '["c"]']


def test_a_list_of_chat_style_dicts(mlflow_store) -> None:
    outputs = [{"role": "assistant", "content": t} for t in ("a", "b", "c")]
    _, table = _evaluate(outputs)
    assert table["exact_match/v1/status"].tolist() == ["not_text"] * 3
    assert table["exact_match/v1/reason"][0] == "predictions is a dict, not a string"
    # ... unless predictions= names the key (MLflow's reading of a list of dicts)
    _, table = _evaluate(outputs, predictions="content")
    assert table["exact_match/v1/score"].tolist() == [1.0, 1.0, 1.0]
    assert table["role"].tolist() == ["assistant"] * 3  # the other key is kept


@pytest.mark.parametrize("outputs", [["a", "b"], ["a", "b", "c", "d"]])
def test_more_or_fewer_outputs_than_rows_is_a_clear_error(mlflow_store, outputs) -> None:
    with pytest.raises(ValueError, match=f"returned {len(outputs)} predictions for 3 input rows"):
        _evaluate(outputs)


def test_every_output_kind_becomes_an_object_column() -> None:
    """The one place outputs enter the table keeps each value as it was."""
    odd = ["text", "\ud800", None, b"x", 1, 2.5, {"a": 1}, [1, 2], (3,), np.float64("nan")]
    column = model_outputs(odd, len(odd), None).predictions
    assert column.dtype == object and len(column) == len(odd)
    assert column.tolist()[:8] == odd[:8] and column[8] == (3,)
    equal_length_lists = model_outputs([[1, 2], [3, 4]], 2, None).predictions
    assert equal_length_lists.tolist() == [[1, 2], [3, 4]]  # not unpacked into a 2-D array
