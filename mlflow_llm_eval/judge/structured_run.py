"""One judge run asking for a structured answer along a chain of forms (:mod:`.structured`).

Until the endpoint is known to accept the current form, one row not answered in the cache is
sent alone in it (a *probe*: a real row, so no extra request when the form is accepted). A row
refused for its form (HTTP 400 naming the form's fields) is sent again in the next form, which
is used from then on for that endpoint; the refused requests are counted as
``structured_refused`` and not as ``judge_requests`` (a refusal carries no tokens). So a refusal
costs one request per endpoint and process, whatever the batching, and what was learned travels
with a pickled judge (:mod:`.claim_judges`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from mlflow_llm_eval.chat.engine import ChatEngine, Reply
from mlflow_llm_eval.judge import structured as forms

Messages = list[dict[str, Any]]


def form_request(
    client: Any, form: str, parameters: Mapping[str, Any], schema: Mapping[str, Any], name: str
) -> tuple[Any, dict[str, Any]]:
    """The client and parameters that ask for ``schema`` in ``form`` (a copy of the client
    without JSON mode where the form must not carry ``response_format``).

    >>> class Client:
    ...     identity, json_mode = "local", True
    >>> sender, parameters = form_request(Client(), "vllm", {"temperature": 0}, {}, "v")
    >>> sender.json_mode, sorted(parameters)
    (False, ['guided_json', 'structured_outputs', 'temperature'])
    """
    if form not in forms.JSON_MODE_FORMS and client.json_mode:
        client = copy.copy(client)
        client.json_mode = False  # no response_format next to vLLM's fields (or at all)
    return client, {**parameters, **forms.body(form, schema, name)}


def run_in_forms(
    client: Any,
    chain: tuple[str, ...],
    requests: list[Messages],
    parameters: Mapping[str, Any],
    check: Callable[[Any, Messages], Any],
    *,
    schema: Mapping[str, Any],
    name: str,
    make_engine: Callable[[Any], ChatEngine],
    cache: Any,
    cache_key: Callable[[Messages], str],
    accounting: dict[str, float],
) -> list[Reply]:
    """One reply per request (see the module docstring); ``accounting`` gets the engine's
    request accounting and ``structured_refused``."""
    identity = client.identity
    replies: list[Reply | None] = [None] * len(requests)
    pending = list(range(len(requests)))

    def send(batch: list[int], probe: bool) -> None:
        index, _ = forms.learned(identity, chain)
        form = chain[index]
        sender, sent_parameters = form_request(client, form, parameters, schema, name)
        engine = make_engine(sender)
        got = engine.run([requests[i] for i in batch], sent_parameters, check)
        refused = {i for i, r in zip(batch, got) if forms.refused(form, r.status, r.reason)}
        sent_refused = sum(
            1 for i, r in zip(batch, got) if i in refused and "not sent" not in (r.reason or "")
        )
        account(engine, accounting, sent_refused)
        if refused:  # this endpoint does not take the form: the next one, from now on
            forms.refuse(identity, chain, index)
            accounting["structured_refused"] = (
                accounting.get("structured_refused", 0) + sent_refused
            )
        elif probe and got[0].status in ("ok", "parse_error"):
            forms.accept(identity, chain, index)
        for i, reply in zip(batch, got):
            if i not in refused:
                replies[i] = reply

    while pending:  # each pass answers a row or moves on to the next form
        index, accepted = forms.learned(identity, chain)
        if accepted or not forms.FIELDS[chain[index]]:
            send(pending, probe=False)
        else:
            with forms.probe_lock(identity, chain):  # one probe at a time per endpoint
                index, accepted = forms.learned(identity, chain)  # learned while waiting?
                probe = None
                if not accepted and forms.FIELDS[chain[index]]:
                    probe = _uncached(pending, requests, cache, cache_key)
                if probe is not None:
                    send([probe], probe=True)
            if probe is None:
                send(pending, probe=False)
        pending = [i for i in pending if replies[i] is None]
    return replies  # type: ignore[return-value]  # every row answered by the loop


def _uncached(
    pending: list[int], requests: list[Messages], cache: Any, cache_key: Callable[[Messages], str]
) -> int | None:
    """The first pending row not answered in the cache (None: every one is)."""
    if cache is None:
        return pending[0]
    keys = [cache_key(requests[i]) for i in pending]
    hits = cache.get_many(keys)
    return next((i for i, key in zip(pending, keys) if key not in hits), None)


def account(engine: ChatEngine, accounting: dict[str, float], refused: int = 0) -> None:
    """Add the engine's accounting; ``refused`` requests (HTTP 400, no tokens) are left out of
    ``judge_requests`` (the caller counts them as ``structured_refused``)."""
    stats = engine.stats
    for key, value in (
        ("judge_requests", stats.requests - refused),
        ("judge_retries", stats.retries),
        ("judge_cache_hits", stats.cache_hits),
        ("prompt_tokens", stats.prompt_tokens),
        ("completion_tokens", stats.completion_tokens),
    ):
        accounting[key] = accounting.get(key, 0) + value
