"""The process-wide event loop every endpoint request runs on (one thread, one HTTP pool).

Runs started from any thread submit their work here (:func:`submit`), so the per-endpoint
limits, pacing and circuit breakers (:mod:`.limits`) are touched by this one thread only: shared
by every run of the process without locks. A forked child (Spark worker) gets its own loop.

    >>> async def two():
    ...     return 2
    >>> submit(two()).result()
    2
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_pid = -1
_session: Any = None
_executor: concurrent.futures.ThreadPoolExecutor | None = None


def get_loop() -> asyncio.AbstractEventLoop:
    """The running background loop (started on first use, again after a fork)."""
    global _loop, _pid, _session, _executor
    with _lock:
        if _loop is None or _pid != os.getpid() or not _loop.is_running():
            loop = asyncio.new_event_loop()
            started = threading.Event()

            def serve() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(started.set)
                loop.run_forever()

            threading.Thread(target=serve, name="llm-eval-requests", daemon=True).start()
            started.wait()
            _loop, _pid, _session, _executor = loop, os.getpid(), None, None
        return _loop


_T = TypeVar("_T")


def submit(coroutine: Coroutine[Any, Any, _T]) -> concurrent.futures.Future[_T]:
    """Run a coroutine on the background loop; a future for its result."""
    return asyncio.run_coroutine_threadsafe(coroutine, get_loop())


def http_session() -> Any:
    """The shared ``aiohttp.ClientSession`` (call on the loop): one connection pool for all.

    The environment's proxies and ``~/.netrc`` are honoured per request through
    :func:`env_options` (what ``trust_env=True`` does, looked up once per URL instead of in two
    worker-thread hops per request).
    """
    global _session
    if _session is None or _session.closed:
        import aiohttp

        connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, keepalive_timeout=30)
        _session = aiohttp.ClientSession(connector=connector, trust_env=False)
    return _session


#: The variables aiohttp's ``trust_env`` reads (urllib's ``getproxies`` for http/https/ws/wss,
#: ``proxy_bypass``, ``netrc``): a change of any of them is a new lookup.
_ENV_NAMES = (
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "ws_proxy",
    "WS_PROXY",
    "wss_proxy",
    "WSS_PROXY",
    "no_proxy",
    "NO_PROXY",
    "NETRC",
    "HOME",
)
_env_cache: dict[tuple[Any, ...], dict[str, Any]] = {}


async def env_options(url: str, has_auth: bool) -> dict[str, Any]:
    """``proxy``/``proxy_auth`` (from ``*_proxy``/``no_proxy``) and ``auth`` (from ``~/.netrc``
    when the request carries no ``Authorization`` header) for a request to ``url``, as aiohttp's
    ``trust_env=True`` finds them; cached per URL and environment."""
    key = (url, has_auth, *_env_values())
    found = _env_cache.get(key)
    if found is None:
        found = await asyncio.to_thread(_lookup_env, url, has_auth)
        if len(_env_cache) > 256:
            _env_cache.clear()
        _env_cache[key] = found
    return found


def _env_values() -> tuple[str | None, ...]:
    """The current values of :data:`_ENV_NAMES`."""
    return tuple(map(os.environ.get, _ENV_NAMES))


def _lookup_env(url: str, has_auth: bool) -> dict[str, Any]:
    from aiohttp.helpers import basicauth_from_netrc, get_env_proxy_for_url, netrc_from_env
    from yarl import URL

    parsed = URL(url)
    options: dict[str, Any] = {}
    try:
        options["proxy"], options["proxy_auth"] = get_env_proxy_for_url(parsed)
    except LookupError:
        pass
    if not has_auth and parsed.host is not None:
        try:
            options["auth"] = basicauth_from_netrc(netrc_from_env(), parsed.host)
        except LookupError:
            pass
    return options


def blocking_executor() -> concurrent.futures.ThreadPoolExecutor:
    """Threads for clients that only have a blocking ``complete`` (e.g. ``mlflow.deployments``)."""
    global _executor
    with _lock:
        if _executor is None:
            _executor = concurrent.futures.ThreadPoolExecutor(
                256, thread_name_prefix="llm-eval-call"
            )
        return _executor
