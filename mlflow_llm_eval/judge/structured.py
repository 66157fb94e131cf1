"""How a judge asks for a structured answer, and what an endpoint is known to refuse.

``structured=`` (the claim judges' option) picks a chain of request *forms*; the first form the
endpoint does not refuse (HTTP 400 naming the form's fields) is used, the rest of the chain is
the fallback:

- ``"auto"``: ``openai`` -> ``json_mode`` for ``openai:/`` and ``azure:/`` judges (vLLM >= 0.6
  and Ollama >= 0.5 read ``openai`` too); ``off`` for ``endpoints:/``
- ``"openai"`` (or ``True``): ``openai`` -> ``json_mode``
- ``"vllm"``: ``vllm`` -> ``json_mode``
- ``"ollama"``: ``ollama`` -> ``json_mode``
- ``"json_mode"`` (or ``False``): ``json_mode``
- ``"off"``: ``off``

The forms (what is added to the request body):

- ``openai``: OpenAI structured outputs, ``response_format={"type": "json_schema",
  "json_schema": {"name", "strict": true, "schema"}}`` (also read by vLLM >= 0.6, SGLang, and
  Ollama >= 0.5 on their OpenAI-compatible endpoints).
- ``vllm``: vLLM guided decoding: ``guided_json=<schema>`` (vLLM 0.4 to 0.11) and
  ``structured_outputs={"json": <schema>}`` (vLLM >= 0.10.2, where ``guided_json`` is
  deprecated, then removed); vLLM ignores (and logs) a field it does not know, so both are sent.
  No ``response_format``.
- ``ollama``: ``response_format={"type": "json_schema", "json_schema": {"name", "schema"}}``,
  the form Ollama's OpenAI-compatible ``/v1/chat/completions`` reads (it becomes the native
  API's ``format=<schema>``).
- ``json_mode``: ``response_format={"type": "json_object"}`` (the client's JSON mode, which
  turns itself off for a server that refuses it).
- ``off``: nothing; the prompt asks for the JSON object.

Whatever the form, the answer is read strictly, then repaired locally, then asked once more
with the reason (:func:`.claims.parse_verdicts`). Until an endpoint is known to accept a form,
one row is sent alone in it (a *probe*: a real row, no extra request when accepted); a refusal
(counted as ``structured_refused``, not in ``judge_requests``: a 400 carries no tokens) moves on
to the next form. What was learned is remembered per endpoint in the process (:func:`learned`,
:func:`refuse`, :func:`accept`) and carried in a pickled judge (Spark ships it to executors).

    >>> chain("auto", openai_protocol=True), chain("auto", openai_protocol=False)
    (('openai', 'json_mode'), ('off',))
    >>> chain("vllm", True), chain(False, True), chain(True, False)
    (('vllm', 'json_mode'), ('json_mode',), ('openai', 'json_mode'))
    >>> sorted(body("vllm", {"type": "object"}, "v"))
    ['guided_json', 'structured_outputs']
    >>> body("ollama", {"type": "object"}, "v")["response_format"]["json_schema"]
    {'name': 'v', 'schema': {'type': 'object'}}
    >>> chain("xml", True)
    Traceback (most recent call last):
    ...
    ValueError: structured='xml': use one of 'auto', 'openai', 'vllm', 'ollama', 'json_mode', 'off' (or True = 'openai', False = 'json_mode')
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

MODES = ("auto", "openai", "vllm", "ollama", "json_mode", "off")
#: The body fields of each form: an HTTP 400 naming one of them is that form refused.
FIELDS: dict[str, tuple[str, ...]] = {
    "openai": ("response_format", "json_schema"),
    "ollama": ("response_format", "json_schema"),
    "vllm": ("guided_json", "structured_outputs"),
    "json_mode": (),
    "off": (),
}
#: Forms sent with the client's JSON mode on (the others must not add ``json_object``).
JSON_MODE_FORMS = ("openai", "ollama", "json_mode")

_lock = threading.Lock()
#: (endpoint identity, chain) -> a lock held while a probe row learns what the endpoint takes.
_probes: dict[tuple[str, tuple[str, ...]], threading.Lock] = {}
#: (endpoint identity, chain) -> [index of the first form not refused there, whether that form
#: is known to be accepted (an answer came back)].
_learned: dict[tuple[str, tuple[str, ...]], list[Any]] = {}


def check_mode(structured: Any) -> str:
    """The mode name of ``structured`` (``True`` -> ``openai``, ``False``/``None`` handled by
    the caller); ValueError naming the choices."""
    if structured is True:
        return "openai"
    if structured is False:
        return "json_mode"
    if structured is None:
        return "auto"
    if structured not in MODES:
        raise ValueError(
            f"structured={structured!r}: use one of {', '.join(repr(m) for m in MODES)} "
            "(or True = 'openai', False = 'json_mode')"
        )
    return str(structured)


def chain(structured: Any, openai_protocol: bool) -> tuple[str, ...]:
    """The forms tried, in order (see the module table); ``openai_protocol``: the judge's client
    posts OpenAI chat-completions bodies (``openai:/``, ``azure:/``; not ``endpoints:/``)."""
    mode = check_mode(structured)
    if mode == "auto":
        return ("openai", "json_mode") if openai_protocol else ("off",)
    if mode in ("json_mode", "off"):
        return (mode,)
    return (mode, "json_mode")


def body(form: str, schema: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The request fields that ask for ``schema`` in ``form`` (see the module docstring)."""
    if form == "openai":
        return {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": name, "strict": True, "schema": dict(schema)},
            }
        }
    if form == "ollama":
        return {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": name, "schema": dict(schema)},
            }
        }
    if form == "vllm":
        return {"guided_json": dict(schema), "structured_outputs": {"json": dict(schema)}}
    return {}


def refused(form: str, status: str, reason: str | None) -> bool:
    """Whether a row's failure is the endpoint refusing ``form`` (HTTP 400 naming its fields)."""
    return status == "request_error" and any(f in (reason or "") for f in FIELDS[form])


def learned(identity: str, forms: tuple[str, ...]) -> tuple[int, bool]:
    """(index in ``forms`` of the first form this endpoint is not known to refuse, whether the
    endpoint is known to accept it); ``(0, False)`` when nothing is known."""
    with _lock:
        index, accepted = _learned.get((identity, forms), (0, False))
        return int(index), bool(accepted)


def probe_lock(identity: str, forms: tuple[str, ...]) -> threading.Lock:
    """The lock one batch holds while its probe row learns the endpoint's form (batches running
    at once, as MLflow 3 scorer batches do, wait and then read what it learned)."""
    with _lock:
        return _probes.setdefault((identity, forms), threading.Lock())


def refuse(identity: str, forms: tuple[str, ...], index: int) -> None:
    """Remember that the endpoint refuses ``forms[index]`` (the next form is used from now on)."""
    with _lock:
        state = _learned.setdefault((identity, forms), [0, False])
        if index + 1 > state[0]:
            state[:] = [min(index + 1, len(forms) - 1), False]


def accept(identity: str, forms: tuple[str, ...], index: int) -> None:
    """Remember that the endpoint answered a request in ``forms[index]``."""
    with _lock:
        state = _learned.setdefault((identity, forms), [0, False])
        if state[0] == index:
            state[1] = True


def known(identity: str) -> dict[tuple[str, ...], tuple[int, bool]]:
    """What is known of one endpoint (carried in a pickled judge)."""
    with _lock:
        return {forms: (s[0], s[1]) for (ident, forms), s in _learned.items() if ident == identity}


def teach(identity: str, facts: Mapping[tuple[str, ...], tuple[int, bool]]) -> None:
    """Add what another process learned about this endpoint (a shipped judge's)."""
    with _lock:
        for forms, (index, accepted) in facts.items():
            state = _learned.setdefault((identity, tuple(forms)), [0, False])
            if index > state[0]:
                state[:] = [index, accepted]
            elif index == state[0]:
                state[1] = state[1] or accepted


def forget() -> None:
    """Forget every endpoint's refusals (tests)."""
    with _lock:
        _learned.clear()
