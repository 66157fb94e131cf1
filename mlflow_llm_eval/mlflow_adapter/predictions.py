"""Obtain predictions for the evaluation frame: from a static column or by calling the model.

A model (logged pyfunc, or a Python callable that MLflow wraps as pyfunc) receives the feature
DataFrame, as MLflow passes it; with ``model_input="text"`` it receives the list of input strings
instead. When latency is requested, the model is called row by row and each call is timed.

Whatever the model returns becomes table columns in one place, :func:`object_column`: an
object-dtype Series that holds every value as it was returned (strings with lone surrogates,
None, bytes, dicts, lists, numbers), so no pandas or pyarrow default string type can fail on
a value or change it. Judging each value is the metrics' job (per row, with a status).

    >>> outputs = model_outputs(["ok", "bad \\ud800", None], 3, None)
    >>> outputs.predictions.dtype, outputs.predictions.tolist()[2]
    (dtype('O'), None)
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlflow_llm_eval.core.model_failures import failure_columns


def object_column(values: Iterable[Any], n_rows: int | None = None) -> pd.Series:
    """Every value, unchanged, in an object-dtype Series (the only way outputs enter the table)."""
    items = list(values)
    if n_rows is not None and len(items) != n_rows:
        raise ValueError(f"the model returned {len(items)} predictions for {n_rows} input rows")
    array = np.empty(len(items), dtype=object)
    for i, value in enumerate(items):  # item by item: numpy would unpack equal-length lists
        array[i] = value
    return pd.Series(array, dtype=object, copy=False)


@dataclass
class ModelOutputs:
    """The prediction column and the model's other output columns (kept for metrics)."""

    predictions: pd.Series
    others: dict[str, pd.Series] = field(default_factory=dict)
    #: The output column the predictions came from (a DataFrame/dict column), if any.
    column: str | None = None
    #: Per row, the model's own status and reason (an endpoint model's :class:`ModelAnswers`:
    #: ``ok`` or why the row got no output); None for a model that reports none.
    statuses: list[str] | None = None
    reasons: list[str | None] | None = None

    def failure_columns(self, name: str) -> dict[str, pd.Series]:
        """``<name>/status`` (and ``<name>/reason`` when a row failed) for the table; none for a
        model that reports no statuses.

            >>> outs = ModelOutputs(object_column(["a", None]), statuses=["ok", "timeout"],
            ...                     reasons=[None, "no answer"])
            >>> {k: v.tolist() for k, v in outs.failure_columns("outputs").items()}
            {'outputs/status': ['ok', 'timeout'], 'outputs/reason': [None, 'no answer']}
        """
        if self.statuses is None:
            return {}
        columns = failure_columns(name, self.statuses, self.reasons)  # the rule of every door
        return {column: object_column(values) for column, values in columns.items()}


def model_input_for(features: pd.DataFrame, text_column: str | None) -> Any:
    """What the model gets: the feature frame, or (``model_input="text"``) the input strings of
    :func:`~mlflow_llm_eval.core.plan.text_input_column`."""
    return features if text_column is None else features[text_column].tolist()


def _from_columns(
    columns: Mapping[Any, Sequence[Any]], n_rows: int, wanted: str | None, what: str
) -> ModelOutputs:
    names = list(columns)
    if wanted is not None and wanted in columns:
        name = wanted
    elif len(names) == 1:
        name = names[0]
    elif wanted is None:
        raise ValueError(
            "Output column name is not specified for the multi-output model: the model "
            f"returned {what} with columns {names}; name the prediction column with "
            "predictions='<column>' (the others are kept for metrics)"
        )
    else:
        raise ValueError(
            f"the model output has no column '{wanted}' (predictions=); its columns: {names}"
        )
    others = {str(k): object_column(v, n_rows) for k, v in columns.items() if k != name}
    return ModelOutputs(object_column(columns[name], n_rows), others, str(name))


def _dict_rows_as_columns(rows: list[Any], wanted: str | None) -> dict[Any, list[Any]] | None:
    """MLflow's reading of a list of dicts as columns, when every row is a dict with that key."""
    if not rows or not all(isinstance(r, dict) for r in rows):
        return None
    keys = list(rows[0])
    if wanted is not None and all(wanted in r for r in rows):
        pass
    elif len(keys) == 1 and all(list(r) == keys for r in rows):
        wanted = keys[0]
    else:
        return None  # chat-style or ragged dicts: per-row values (each row 'not_text')
    others = list(dict.fromkeys(k for r in rows for k in r if k != wanted))
    return {wanted: [r[wanted] for r in rows], **{k: [r.get(k) for r in rows] for k in others}}


def model_outputs(output: Any, n_rows: int, predictions_column: str | None) -> ModelOutputs:
    """Turn a model's output into one value per row (and its other output columns)."""
    statuses, reasons = getattr(output, "statuses", None), getattr(output, "reasons", None)
    if isinstance(output, list) and isinstance(statuses, list) and len(statuses) == len(output):
        outputs = ModelOutputs(object_column(list(output), n_rows))  # an endpoint model's answers
        outputs.statuses = [str(s) for s in statuses]
        outputs.reasons = list(reasons) if isinstance(reasons, list) else [None] * len(statuses)
        return outputs
    if isinstance(output, pd.DataFrame):
        return _from_columns(
            {c: output[c].tolist() for c in output.columns},
            n_rows,
            predictions_column,
            "a DataFrame",
        )
    if isinstance(output, dict):
        if n_rows == 1 and not all(
            isinstance(v, (list, tuple, np.ndarray, pd.Series)) for v in output.values()
        ):
            return ModelOutputs(object_column([output], n_rows))  # one row's dict
        return _from_columns(
            {k: list(v) for k, v in output.items()}, n_rows, predictions_column, "a dict"
        )
    if isinstance(output, (str, bytes)) or output is None:
        if n_rows != 1:
            raise ValueError(
                f"the model returned one {type(output).__name__} for {n_rows} rows; it must "
                "return one prediction per row (a list, Series or DataFrame)"
            )
        return ModelOutputs(object_column([output], n_rows))
    if isinstance(output, pd.Series):
        rows = output.tolist()
    elif isinstance(output, np.ndarray):
        rows = list(output) if output.ndim == 1 else output.tolist()
    elif isinstance(output, (list, tuple, Iterator)) or _is_iterable(output):
        rows = list(output)
    else:
        if n_rows != 1:
            raise ValueError(
                f"cannot read {n_rows} predictions from a model output of type "
                f"{type(output).__name__}"
            )
        rows = [output]
    as_columns = _dict_rows_as_columns(rows, predictions_column)
    if as_columns is not None:  # the first key is the one chosen
        return _from_columns(as_columns, n_rows, next(iter(as_columns)), "a list of dicts")
    return ModelOutputs(object_column(rows, n_rows))


def _is_iterable(value: Any) -> bool:
    try:
        iter(value)
    except TypeError:
        return False
    return True


def predict(
    model: Any,
    features: pd.DataFrame,
    *,
    text_column: str | None,
    predictions_column: str | None,
    time_each_row: bool,
) -> tuple[ModelOutputs, list[float] | None]:
    """Call the model on every row; return its outputs and, if asked, per-row seconds."""
    if not time_each_row:
        output = model.predict(model_input_for(features, text_column))
        return model_outputs(output, len(features), predictions_column), None
    parts: list[ModelOutputs] = []
    seconds: list[float] = []
    for i in range(len(features)):
        single = model_input_for(features.iloc[[i]], text_column)
        started = time.perf_counter()
        output = model.predict(single)
        seconds.append(time.perf_counter() - started)
        parts.append(model_outputs(output, 1, predictions_column))
    names = dict.fromkeys(n for p in parts for n in p.others)
    others = {
        name: object_column([p.others[name][0] if name in p.others else None for p in parts])
        for name in names
    }
    predictions = object_column(p.predictions[0] for p in parts)
    outputs = ModelOutputs(predictions, others, parts[0].column if parts else None)
    if parts and any(p.statuses is not None for p in parts):
        outputs.statuses = [p.statuses[0] if p.statuses else "ok" for p in parts]
        outputs.reasons = [p.reasons[0] if p.reasons else None for p in parts]
    return outputs, seconds
