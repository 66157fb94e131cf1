"""The request options as config keys, made from :class:`~mlflow_llm_eval.chat.RequestOptions`.

Every field of the dataclass is a key (``rpm``, ``tpm``, ``timeout``, ``max_attempts``,
``deadline``, ...), checked at load by the dataclass's own rule, so a bad value is an error naming
the key and its line. The concurrency ceiling keeps each section's name: ``max_workers`` under
``judge:`` and ``compare.pairwise`` (MLflow's name), ``concurrency`` under ``models[]``.

    >>> keys = JudgeRequestKeys.model_validate({"rpm": 600, "max_workers": 8})
    >>> keys.request_options()
    {'max_workers': 8, 'rpm': 600}
    >>> JudgeRequestKeys.model_validate({"tpm": -1})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for JudgeRequestKeys
    tpm
      Value error, tpm must be a positive number or None, got -1 ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationInfo, create_model, field_validator

from mlflow_llm_eval.chat.options import ALIASES, NAMES, check

#: Keys of every request option but the ceiling, which each section names (see above).
REQUEST_KEYS: tuple[str, ...] = tuple(n for n in NAMES if n != "max_concurrency")


class _Keys(BaseModel):
    def request_options(self) -> dict[str, Any]:
        """The request keys given (not None), as keyword arguments of the judge or model."""
        names = [n for n in ("max_workers", *REQUEST_KEYS) if n in type(self).model_fields]
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}


def _checked(cls: type, value: Any, info: ValidationInfo) -> Any:
    if value is not None:
        check(ALIASES.get(str(info.field_name), str(info.field_name)), value, info.field_name)
    return value


def _keys_model(name: str, keys: tuple[str, ...]) -> type[_Keys]:
    return create_model(  # type: ignore[call-overload]
        name,
        __base__=_Keys,
        __validators__={"_checked": field_validator(*keys)(_checked)},
        **{key: (Any, None) for key in keys},
    )


if TYPE_CHECKING:  # what _keys_model builds, as classes mypy can use as bases

    class RequestKeys(_Keys):
        initial_concurrency: Any = None
        max_attempts: Any = None
        retry_budget: Any = None
        wait_budget: Any = None
        max_wait: Any = None
        backoff_base: Any = None
        backoff_max: Any = None
        timeout: Any = None
        rpm: Any = None
        tpm: Any = None
        deadline: Any = None
        breaker_threshold: Any = None

    class JudgeRequestKeys(RequestKeys):
        max_workers: Any = None
else:
    #: ``models[]``: the request keys of an endpoint model (``concurrency`` is declared there).
    RequestKeys = _keys_model("RequestKeys", REQUEST_KEYS)
    #: ``judge:`` and ``compare.pairwise``: the request keys of a judge, ``max_workers`` too.
    JudgeRequestKeys = _keys_model("JudgeRequestKeys", ("max_workers", *REQUEST_KEYS))
