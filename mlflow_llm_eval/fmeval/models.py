"""The model that semantic robustness re-runs: a callable, a pyfunc model, or an endpoint URI.

:func:`as_text_model` turns any of them into ``list[str] -> list[object]`` (one output per
prompt, in order):

- a Python callable taking a list of prompts and returning a list of outputs;
- an object with ``predict`` (an MLflow pyfunc model, a ``PythonModel``, an sklearn-like
  pipeline): called with a one-column DataFrame named ``input_column``; a Series, array, list
  or one-column DataFrame comes back;
- a model URI string ``openai:/<model>``, ``azure:/<deployment>`` or ``endpoints:/<name>``: each
  prompt is sent as one user message (temperature 0) through the judge endpoint clients.

A static frame of predictions has no model to re-run: semantic robustness cannot be computed
from it, and the metric's constructor says so.

    >>> run = as_text_model(lambda prompts: [p.upper() for p in prompts])
    >>> run(["a", "b"])
    ['A', 'B']
    >>> try:
    ...     as_text_model(None)
    ... except ValueError as error:
    ...     print(str(error)[:53])
    semantic robustness needs the model under evaluation:
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from mlflow_llm_eval.chat.schemes import URI_PREFIXES as ENDPOINT_SCHEMES

TextModel = Callable[[list[str]], list[Any]]

NO_MODEL = (
    "semantic robustness needs the model under evaluation: it re-runs the model on perturbed "
    "inputs, which a static frame of predictions cannot provide. Pass model=<a callable "
    "list[str] -> list[str]>, an MLflow pyfunc model (mlflow.pyfunc.load_model(...)), or an "
    "endpoint URI such as 'openai:/gpt-4o-mini'"
)


def _as_list(output: Any, n: int) -> list[Any]:
    """Outputs as a list of length ``n`` (Series, ndarray, one-column DataFrame, list)."""
    if hasattr(output, "columns") and hasattr(output, "iloc"):  # a DataFrame
        output = output.iloc[:, 0]
    if hasattr(output, "tolist"):
        output = output.tolist()
    if isinstance(output, str) or not isinstance(output, Sequence):
        raise TypeError(
            f"the model returned {type(output).__name__}; expected one output per prompt"
        )
    if len(output) != n:
        raise ValueError(f"the model returned {len(output)} outputs for {n} prompts")
    return list(output)


def _predict_model(model: Any, input_column: str) -> TextModel:
    def run(prompts: list[str]) -> list[Any]:
        import pandas as pd

        return _as_list(model.predict(pd.DataFrame({input_column: list(prompts)})), len(prompts))

    return run


def _callable_model(fn: Callable[[list[str]], Any]) -> TextModel:
    def run(prompts: list[str]) -> list[Any]:
        return _as_list(fn(list(prompts)), len(prompts))

    return run


def _endpoint_model(uri: str, timeout: float, retries: int) -> TextModel:
    """Prompts sent concurrently through the endpoint model the multi-model runner uses."""
    from mlflow_llm_eval.judge.endpoint_model import EndpointModel
    from mlflow_llm_eval.judge.endpoints import make_client

    client = make_client(uri, timeout=timeout)
    client.json_mode = False  # the model under test answers in free text
    model = EndpointModel(
        client, None, {"temperature": 0.0}, max_attempts=retries + 1, progress=False
    )

    def run(prompts: list[str]) -> list[Any]:
        import pandas as pd

        return model(pd.DataFrame({"inputs": list(prompts)}))

    return run


def as_text_model(
    model: Any, *, input_column: str = "inputs", timeout: float = 60.0, retries: int = 3
) -> TextModel:
    """A ``list[str] -> list`` function for ``model``; raises ValueError/TypeError up front."""
    if model is None:
        raise ValueError(NO_MODEL)
    if isinstance(model, str):
        if not model.startswith(ENDPOINT_SCHEMES):
            raise ValueError(
                f"model {model!r} is not an endpoint URI ({', '.join(ENDPOINT_SCHEMES)}"
                "<name>); for a saved MLflow model pass mlflow.pyfunc.load_model(uri)"
            )
        return _endpoint_model(model, timeout, retries)
    if hasattr(model, "predict"):
        return _predict_model(model, input_column)
    if callable(model):
        return _callable_model(model)
    raise TypeError(
        f"model must be a callable, a model with predict() or an endpoint URI, "
        f"got {type(model).__name__}. {NO_MODEL}"
    )
