"""How hard one run may push an endpoint: :class:`RequestOptions`, one frozen dataclass.

Every caller of the request engine takes these options the same way: the engine itself
(:class:`~mlflow_llm_eval.chat.ChatEngine`), judge metrics, the pairwise judge and endpoint
models under test. Their constructors accept each field as a keyword (``max_concurrency=``,
``rpm=``, ...; ``max_workers=`` is MLflow's name for ``max_concurrency``) or a whole
``request_options=RequestOptions(...)`` (keywords then override its fields); the config runner's
request keys are the same fields. Values are checked when the options are built, and an error
names the option.

**Defaults** are the field defaults below, for judges and the engine alike. The one deliberate
difference: a **model under test** (:data:`MODEL_UNDER_TEST`) starts at 8 requests in flight and
grows to at most 64, not 32 and 256: it is often a self-hosted or provisioned endpoint with less
headroom than a hosted judge API, and its latency is part of what is measured.

    >>> options = RequestOptions(max_concurrency=64, rpm=600)
    >>> options.initial_concurrency, options.max_attempts, options.timeout
    (32, 6, 60.0)
    >>> shipped = options.split(4)  # a global budget shared by 4 Spark tasks
    >>> shipped.max_concurrency, shipped.initial_concurrency, shipped.rpm
    (16, 16, 150.0)
    >>> RequestOptions.resolve(max_workers=8, tpm=90_000).max_concurrency
    8
    >>> RequestOptions.resolve(base=MODEL_UNDER_TEST, rpm=60)
    RequestOptions(max_concurrency=64, initial_concurrency=8, ..., rpm=60.0, ...)
    >>> RequestOptions(rpm=0)
    Traceback (most recent call last):
    ...
    ValueError: rpm must be a positive number or None, got 0
"""

from __future__ import annotations

import difflib
import numbers
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from operator import attrgetter
from typing import TYPE_CHECKING, Any


def _integer(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and int(value) >= 1


def _number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and value == value


#: Field -> (is the value valid, what it must be): the one validation of every request option.
_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "count": (_integer, "an integer >= 1"),
    "non_negative": (lambda v: _number(v) and v >= 0, "a number >= 0"),
    "positive": (lambda v: _number(v) and v > 0, "a positive number"),
    "optional": (lambda v: v is None or (_number(v) and v > 0), "a positive number or None"),
}

#: Other names some constructors have always taken, -> the field they set.
ALIASES = {
    "max_workers": "max_concurrency",
    "concurrency": "max_concurrency",
    "backoff": "backoff_base",
}


@dataclass(frozen=True)
class RequestOptions:
    """The request engine's limits, retries, budgets and pacing for one run.

    ``max_concurrency``: ceiling of the adaptive number of requests in flight, which starts at
    ``initial_concurrency`` (capped at the ceiling). ``max_attempts``: requests per row.
    ``retry_budget``: retries per run as a fraction of its rows (at least 10). ``wait_budget`` /
    ``max_wait``: resends after a 429 with ``Retry-After`` per run (fraction of rows, at least 30)
    / seconds of such waiting per row. ``backoff_base`` / ``backoff_max``: exponential backoff
    with full jitter, seconds. ``timeout``: seconds per request (applied by the client built from
    these options). ``rpm`` / ``tpm``: requests / tokens per minute to stay under (None: the
    endpoint's ``x-ratelimit-*`` headers only). ``deadline``: seconds for the whole run (None: no
    deadline). ``breaker_threshold``: consecutive timeouts / connection errors after which nothing
    more is sent.
    """

    max_concurrency: int = 256
    initial_concurrency: int = 32
    max_attempts: int = 6
    retry_budget: float = 0.5
    wait_budget: float = 3.0
    max_wait: float = 300.0
    backoff_base: float = 0.5
    backoff_max: float = 20.0
    timeout: float = 60.0
    rpm: float | None = None
    tpm: float | None = None
    deadline: float | None = None
    breaker_threshold: int = 5

    def __post_init__(self) -> None:
        for name in NAMES:
            value = getattr(self, name)
            check(name, value)
            if value is not None:  # 600 -> 600.0, numpy integers -> int
                object.__setattr__(
                    self, name, int(value) if KINDS[name] == "count" else float(value)
                )

    def split(self, tasks: int) -> RequestOptions:
        """These options shared by ``tasks`` concurrent callers: ceilings ``max(1, c // tasks)``
        (the start capped at the new ceiling), ``rpm``/``tpm`` ``rate / tasks``."""
        ceiling = max(1, self.max_concurrency // tasks)
        return replace(
            self,
            max_concurrency=ceiling,
            initial_concurrency=min(self.initial_concurrency, ceiling),
            rpm=None if self.rpm is None else self.rpm / tasks,
            tpm=None if self.tpm is None else self.tpm / tasks,
        )

    @classmethod
    def resolve(
        cls,
        request_options: RequestOptions | None = None,
        *,
        base: RequestOptions | None = None,
        client_built: bool = False,
        **given: Any,
    ) -> RequestOptions:
        """``request_options`` (else ``base``, else the defaults) with the keywords ``given`` set
        on top; a keyword given as None is not set. ``client_built``: the caller's client exists
        already, so ``timeout=`` is refused (it is set where the client is built)."""
        if request_options is not None and not isinstance(request_options, RequestOptions):
            raise TypeError(
                f"request_options must be a RequestOptions, got {type(request_options).__name__}"
            )
        changes: dict[str, Any] = {}
        keys: dict[str, str] = {}
        for key, value in given.items():
            name = ALIASES.get(key, key)
            if name not in KINDS:
                close = difflib.get_close_matches(key, [*NAMES, *ALIASES], n=1)
                raise TypeError(
                    f"unexpected keyword argument {key!r}"
                    + (f"; did you mean {close[0]!r}?" if close else "")
                    + f" (request options: {', '.join(NAMES)})"
                )
            if client_built and name == "timeout":
                raise TypeError(
                    "timeout= belongs to the endpoint client: set it where the "
                    "client is built (make_client(..., timeout=...))"
                )
            if value is None:
                continue
            if name in keys:
                raise TypeError(f"{keys[name]}= and {key}= are the same option ({name}); give one")
            check(name, value, key)  # the error names the keyword the caller used
            changes[name], keys[name] = value, key
        options = request_options or base or cls()
        return replace(options, **changes) if changes else options


NAMES: tuple[str, ...] = tuple(f.name for f in fields(RequestOptions))
#: Field -> its rule in ``_RULES``.
KINDS: dict[str, str] = {
    "max_concurrency": "count",
    "initial_concurrency": "count",
    "max_attempts": "count",
    "breaker_threshold": "count",
    "retry_budget": "non_negative",
    "wait_budget": "non_negative",
    "max_wait": "non_negative",
    "backoff_base": "non_negative",
    "backoff_max": "non_negative",
    "timeout": "positive",
    "rpm": "optional",
    "tpm": "optional",
    "deadline": "optional",
}
assert set(KINDS) == set(NAMES), "every request option has a rule"


def check(name: str, value: Any, key: str | None = None) -> None:
    """Raise ValueError (naming ``key``, default ``name``) if ``value`` is not valid for field
    ``name``; the config schema checks its keys with this too."""
    valid, what = _RULES[KINDS[name]]
    if not valid(value):
        raise ValueError(f"{key or name} must be {what}, got {value!r}")


#: The defaults of a model under test (see the module docstring for why they differ).
MODEL_UNDER_TEST = RequestOptions(max_concurrency=64, initial_concurrency=8)


class UsesRequestOptions:
    """Mixin: each field of ``self.request_options`` readable as an attribute
    (``judge.max_concurrency``, ``judge.rpm``); to change one, set new ``request_options``."""

    request_options: RequestOptions

    if TYPE_CHECKING:  # the read-only properties set below, one per field
        max_concurrency: int
        initial_concurrency: int
        max_attempts: int
        retry_budget: float
        wait_budget: float
        max_wait: float
        backoff_base: float
        backoff_max: float
        timeout: float
        rpm: float | None
        tpm: float | None
        deadline: float | None
        breaker_threshold: int


for _name in NAMES:
    setattr(
        UsesRequestOptions,
        _name,
        property(attrgetter(f"request_options.{_name}"), doc=f"``request_options.{_name}``"),
    )


__all__ = ["ALIASES", "MODEL_UNDER_TEST", "NAMES", "RequestOptions", "UsesRequestOptions", "check"]
