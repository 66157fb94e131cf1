"""Obtain predictions for the evaluation frame: from a static column or by calling the model.

A model (logged pyfunc, or a Python callable that MLflow wraps as pyfunc) receives the feature
DataFrame, as MLflow passes it; with ``model_input="text"`` it receives the list of input strings
instead. When latency is requested, the model is called row by row and each call is timed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

MODEL_INPUTS = ("dataframe", "text")


def model_input_for(features: pd.DataFrame, input_column: str | None, model_input: str) -> Any:
    if model_input == "dataframe":
        return features
    if input_column is None:
        raise ValueError(
            "model_input='text' needs one input column: name it 'inputs' or map it with "
            f"col_mapping={{'inputs': '<column>'}}; feature columns: {list(features.columns)}"
        )
    return features[input_column].tolist()


def output_rows(output: Any, n_rows: int, predictions_column: str | None) -> list[Any]:
    """Turn a model's output into one value per row, as the model returned it."""
    if isinstance(output, pd.DataFrame):
        if predictions_column is not None:
            if predictions_column not in output.columns:
                raise ValueError(
                    f"the model output has no column '{predictions_column}' (predictions=); "
                    f"its columns: {list(output.columns)}"
                )
            values = output[predictions_column].tolist()
        elif len(output.columns) == 1:
            values = output.iloc[:, 0].tolist()
        else:
            raise ValueError(
                "the model returned a DataFrame with several columns "
                f"{list(output.columns)}: pass predictions='<column>' to mlflow.evaluate"
            )
    elif isinstance(output, (pd.Series, np.ndarray)):
        values = list(output.tolist())
    elif isinstance(output, (list, tuple)):
        values = list(output)
    elif isinstance(output, str) or output is None or isinstance(output, dict):
        values = [output] if n_rows == 1 else None
        if values is None:
            raise ValueError(
                f"the model returned one {type(output).__name__} for {n_rows} rows; "
                "it must return one prediction per row (a list, Series or DataFrame)"
            )
    else:
        raise ValueError(f"cannot read predictions from a model output of type {type(output).__name__}")
    if len(values) != n_rows:
        raise ValueError(f"the model returned {len(values)} predictions for {n_rows} input rows")
    return values


def predict(
    model: Any,
    features: pd.DataFrame,
    *,
    input_column: str | None,
    model_input: str,
    predictions_column: str | None,
    time_each_row: bool,
) -> tuple[list[Any], list[float] | None]:
    """Call the model on every row; return the predictions and, if asked, per-row seconds."""
    if not time_each_row:
        output = model.predict(model_input_for(features, input_column, model_input))
        return output_rows(output, len(features), predictions_column), None
    predictions: list[Any] = []
    seconds: list[float] = []
    for i in range(len(features)):
        single = model_input_for(features.iloc[[i]], input_column, model_input)
        started = time.perf_counter()
        output = model.predict(single)
        seconds.append(time.perf_counter() - started)
        predictions.extend(output_rows(output, 1, predictions_column))
    return predictions, seconds


def pick_input_column(columns: Sequence[str], col_mapping: dict[str, Any]) -> str | None:
    """The column holding the model's input text: mapped 'inputs', an 'inputs' column, or the only one."""
    mapped = col_mapping.get("inputs")
    if isinstance(mapped, str) and mapped in columns:
        return mapped
    if "inputs" in columns:
        return "inputs"
    return columns[0] if len(columns) == 1 else None
