"""The endpoint URI schemes: the one list every layer checks a model or judge URI against.

>>> URI_PREFIXES
('openai:/', 'endpoints:/', 'azure:/')
>>> is_endpoint_uri("openai:/gpt-4o-mini"), is_endpoint_uri("runs:/abc/model")
(True, False)
>>> is_endpoint_uri("endpoints:/chat", COMPLETIONS_SCHEMES)
False
"""

from __future__ import annotations

from typing import Any

#: Every scheme a chat client exists for (``chat.endpoints.make_client``), most used first.
SCHEMES: tuple[str, ...] = ("openai", "endpoints", "azure")
#: The schemes whose endpoints serve OpenAI ``/completions`` (echoed prompt log-probs).
COMPLETIONS_SCHEMES: tuple[str, ...] = ("openai", "azure")
#: ``<scheme>:/`` for each scheme, as URIs start.
URI_PREFIXES: tuple[str, ...] = tuple(f"{scheme}:/" for scheme in SCHEMES)


def is_endpoint_uri(value: Any, schemes: tuple[str, ...] = SCHEMES) -> bool:
    """``value`` is a string ``<scheme>:/<name>`` with one of ``schemes``."""
    return isinstance(value, str) and value.startswith(tuple(f"{s}:/" for s in schemes))
