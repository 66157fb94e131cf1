"""Request parameters an endpoint refuses, adapted once per endpoint.

OpenAI's reasoning models (o-series, gpt-5) answer HTTP 400 to ``max_tokens`` (they take
``max_completion_tokens``) and to a ``temperature`` other than the default, naming the parameter
in the error body::

    {"error": {"message": "Unsupported parameter: 'max_tokens' is not supported with this model.
     Use 'max_completion_tokens' instead.", "type": "invalid_request_error",
     "param": "max_tokens", "code": "unsupported_parameter"}}

(``"code": "unsupported_value"``, ``"param": "temperature"`` for the temperature). The request
engine then changes the parameter for that endpoint, for this run and every later run of the
process: ``max_tokens`` is renamed ``max_completion_tokens``, any other refused parameter is
dropped; one log line says so, and the refused rows are sent again (not counted as failed
attempts). The cache key keeps the parameters the caller gave.

    >>> from mlflow_llm_eval.chat.types import CallError
    >>> refused = CallError("request_error", "HTTP 400", retryable=False)
    >>> refused.status, refused.param, refused.code = 400, "max_tokens", "unsupported_parameter"
    >>> rules = {}
    >>> learn(rules, refused, {"max_tokens": 200, "temperature": 0.0})
    'max_tokens'
    >>> apply(rules, {"max_tokens": 200, "temperature": 0.0})
    {'temperature': 0.0, 'max_completion_tokens': 200}
    >>> refused.param, refused.code = "temperature", "unsupported_value"
    >>> learn(rules, refused, apply(rules, {"max_tokens": 200, "temperature": 0.0}))
    'temperature'
    >>> apply(rules, {"max_tokens": 200, "temperature": 0.0})
    {'max_completion_tokens': 200}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlflow_llm_eval.chat.types import CallError

#: The error codes (OpenAI's ``error.code``) that name a parameter the model does not take.
CODES = ("unsupported_parameter", "unsupported_value")
#: Refused parameter -> the name the endpoint takes instead (others are dropped).
RENAMES = {"max_tokens": "max_completion_tokens"}


def refused_parameter(exc: CallError, sent: Mapping[str, Any]) -> str | None:
    """The parameter a 400 answer refuses, if it is one of ``sent``."""
    param = getattr(exc, "param", None)
    if (
        exc.status == 400
        and getattr(exc, "code", None) in CODES
        and isinstance(param, str)
        and param in sent
    ):
        return param
    return None


def learn(rules: dict[str, str | None], exc: CallError, sent: Mapping[str, Any]) -> str | None:
    """Add the rule for the parameter ``exc`` refuses (rename or drop); the parameter, or None
    when the error is not such a refusal."""
    param = refused_parameter(exc, sent)
    if param is None:
        return None
    new = RENAMES.get(param) if exc.code == "unsupported_parameter" else None
    rules[param] = new if new is not None and new not in rules else None
    return param


def apply(rules: Mapping[str, str | None], parameters: Mapping[str, Any]) -> dict[str, Any]:
    """``parameters`` with the rules applied (a renamed parameter keeps its value)."""
    if not rules:
        return dict(parameters)
    out = {k: v for k, v in parameters.items() if k not in rules}
    for old, new in rules.items():
        if new is not None and old in parameters and new not in out and new not in rules:
            out[new] = parameters[old]
    return out


def describe(param: str, rules: Mapping[str, str | None]) -> str:
    new = rules.get(param)
    return f"sending {new!r} instead" if new else "no longer sending it"
