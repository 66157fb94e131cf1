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
from typing import Any

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


def submit(coroutine: Coroutine[Any, Any, Any]) -> concurrent.futures.Future:
    """Run a coroutine on the background loop; a future for its result."""
    return asyncio.run_coroutine_threadsafe(coroutine, get_loop())


def http_session() -> Any:
    """The shared ``aiohttp.ClientSession`` (call on the loop): one connection pool for all."""
    global _session
    if _session is None or _session.closed:
        import aiohttp

        connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, keepalive_timeout=30)
        _session = aiohttp.ClientSession(connector=connector, trust_env=True)
    return _session


def blocking_executor() -> concurrent.futures.ThreadPoolExecutor:
    """Threads for clients that only have a blocking ``complete`` (e.g. ``mlflow.deployments``)."""
    global _executor
    with _lock:
        if _executor is None:
            _executor = concurrent.futures.ThreadPoolExecutor(256, thread_name_prefix="llm-eval-call")
        return _executor
