"""A persistent on-disk cache of judge answers (sqlite, WAL): re-runs and resumed runs pay nothing twice.

Where: ``$MLFLOW_LLM_EVAL_CACHE_DIR/judge_cache.sqlite`` if that variable is set, else
``$XDG_CACHE_HOME/mlflow_llm_eval/`` or ``~/.cache/mlflow_llm_eval/``. Off: pass ``cache=False``
to the metric, or set ``MLFLOW_LLM_EVAL_JUDGE_CACHE=0``. A path (``cache="/some/file.sqlite"``)
uses that file.

The key is a hash of the endpoint (scheme, base URL, model), the rendered messages and the
request parameters; never of a secret. Only answers that parsed are stored, written as they
arrive (one commit per batch the engine takes in, and at most 64 answers or 0.5 s after
receipt: :mod:`mlflow_llm_eval.chat.store`), so a run killed half-way keeps what it paid for. Several threads and
several processes may share one file (WAL journal, busy timeout, ``INSERT OR REPLACE``).

    >>> import tempfile, pathlib
    >>> cache = JudgeCache(pathlib.Path(tempfile.mkdtemp()) / "c.sqlite")
    >>> cache.put("k1", CachedAnswer('{"score": 3, "justification": "ok"}', 10, 5))
    >>> cache.get_many(["k1", "k2"])["k1"].prompt_tokens, len(cache)
    (10, 1)
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from mlflow_llm_eval.chat.store import CachedAnswer

CACHE_FILE = "judge_cache.sqlite"
_OFF = {"0", "false", "no", "off"}


def default_cache_path() -> Path:
    """The cache file used when ``cache=True`` (see the module docstring)."""
    root = os.environ.get("MLFLOW_LLM_EVAL_CACHE_DIR")
    if root:
        return Path(root).expanduser() / CACHE_FILE
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mlflow_llm_eval" / CACHE_FILE


def cache_key(
    identity: str,
    messages: list[dict[str, Any]],
    parameters: Mapping[str, Any],
    json_mode: bool,
    prompt_version: str,
) -> str:
    """sha256 of everything that determines the judge's answer."""
    blob = json.dumps(
        {
            "endpoint": identity,
            "messages": messages,
            "parameters": dict(parameters),
            "json_mode": json_mode,
            "prompt": prompt_version,
        },
        sort_keys=True,
        ensure_ascii=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


class JudgeCache:
    """A key -> answer store in one sqlite file, safe across threads and processes."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = -1

    def __repr__(self) -> str:
        return f"JudgeCache({str(self.path)!r})"

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None or self._pid != os.getpid():  # never reuse a connection across fork
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, timeout=60.0, check_same_thread=False, isolation_level=None
            )
            conn.execute("PRAGMA busy_timeout=60000")
            _retry_locked(lambda: conn.execute("PRAGMA journal_mode=WAL"))
            conn.execute("PRAGMA synchronous=NORMAL")
            _retry_locked(
                lambda: conn.execute(
                    "CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, text TEXT NOT NULL, "
                    "prompt_tokens INTEGER, completion_tokens INTEGER, created REAL)"
                )
            )
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    def get_many(self, keys: Iterable[str]) -> dict[str, CachedAnswer]:
        keys = list(dict.fromkeys(keys))
        found: dict[str, CachedAnswer] = {}
        with self._lock:
            conn = self._connection()
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT key, text, prompt_tokens, completion_tokens FROM "
                    f"answers WHERE key IN ({marks})",
                    chunk,
                ).fetchall()
                for key, text, prompt_tokens, completion_tokens in rows:
                    found[key] = CachedAnswer(text, prompt_tokens or 0, completion_tokens or 0)
        return found

    def put(self, key: str, answer: CachedAnswer) -> None:
        with self._lock:
            conn = self._connection()
            _retry_locked(
                lambda: conn.execute(
                    "INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?)",
                    (key, answer.text, answer.prompt_tokens, answer.completion_tokens, time.time()),
                )
            )

    def put_many(self, items: Iterable[tuple[str, CachedAnswer]]) -> None:
        """Store several answers in one transaction (one commit, not one per row)."""
        rows = [
            (key, a.text, a.prompt_tokens, a.completion_tokens, time.time()) for key, a in items
        ]
        if not rows:
            return
        with self._lock:
            conn = self._connection()

            def write() -> None:
                with conn:
                    conn.execute("BEGIN")
                    conn.executemany("INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?)", rows)

            _retry_locked(write)

    def __len__(self) -> int:
        with self._lock:
            return self._connection().execute("SELECT COUNT(*) FROM answers").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _retry_locked(action: Any, attempts: int = 20) -> Any:
    """Run a statement, retrying 'database is locked' (a busy timeout does not cover every case)."""
    for attempt in range(attempts):
        try:
            return action()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    return None


_shared: dict[Path, JudgeCache] = {}
_shared_lock = threading.Lock()


def resolve_cache(cache: bool | str | os.PathLike[str] | JudgeCache | None) -> JudgeCache | None:
    """``True`` -> the default file, ``False``/``None`` -> no cache, a path -> that file."""
    if isinstance(cache, JudgeCache):
        return cache
    if cache is None or cache is False:
        return None
    if os.environ.get("MLFLOW_LLM_EVAL_JUDGE_CACHE", "").strip().lower() in _OFF:
        return None
    path = default_cache_path() if cache is True else Path(cache).expanduser()
    with _shared_lock:
        return _shared.setdefault(path, JudgeCache(path))
