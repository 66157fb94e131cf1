"""Judge answers on storage every executor reaches: what makes resume and task retries free.

Why this and not the previous results table: the results table is written once, at the end of
the job, so a run killed half-way (quota, cluster restart) and a task Spark retries would find
nothing in it. Here each judge answer is appended, as soon as it is paid for, to a JSON-lines
segment file of its task attempt, in a directory on shared storage (a Unity Catalog volume or
DBFS path on Databricks, any local directory in local mode). The rows of the judge stage are
hash-partitioned on the judge's input columns into a fixed number of partitions, so a row lands
in the same partition on a retry and on a re-run, and a task reads only its partition's segments:
``<answers_dir>/<namespace>/n<partitions>/part-<i>/<attempt>.jsonl``. The key is the judge
cache's (endpoint, messages, parameters): a changed prompt or model asks again.

    >>> import tempfile
    >>> root = tempfile.mkdtemp()
    >>> store = SharedAnswers(root, 3)
    >>> store.put("k", CachedAnswer('{"score": 4, "justification": "j"}', 7, 3))
    >>> store.close()
    >>> SharedAnswers(root, 3).get_many(["k", "other"])["k"].prompt_tokens
    7
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from mlflow_llm_eval.judge.cache import CachedAnswer, JudgeCache


class SharedAnswers(JudgeCache):
    """A judge cache for one partition: reads every attempt's segment, appends to its own."""

    def __init__(self, directory: str | Path, partition: int) -> None:
        self.path = Path(directory) / f"part-{partition:05d}"
        self._lock = threading.Lock()
        self._known: dict[str, CachedAnswer] | None = None
        self._segment: IO[str] | None = None

    def _load(self) -> dict[str, CachedAnswer]:
        if self._known is None:
            known: dict[str, CachedAnswer] = {}
            for segment in sorted(self.path.glob("*.jsonl")):
                with open(segment, encoding="utf-8") as lines:
                    for line in lines:
                        try:
                            item = json.loads(line)
                            known[item["key"]] = CachedAnswer(
                                item["text"],
                                item.get("prompt_tokens", 0),
                                item.get("completion_tokens", 0),
                            )
                        except (ValueError, KeyError, TypeError):
                            continue  # a torn last line of a killed attempt
            self._known = known
        return self._known

    def get_many(self, keys: Iterable[str]) -> dict[str, CachedAnswer]:
        with self._lock:
            known = self._load()
            return {k: known[k] for k in keys if k in known}

    def put(self, key: str, answer: CachedAnswer) -> None:
        line = (
            json.dumps(
                {
                    "key": key,
                    "text": answer.text,
                    "prompt_tokens": answer.prompt_tokens,
                    "completion_tokens": answer.completion_tokens,
                },
                ensure_ascii=True,
            )
            + "\n"
        )
        with self._lock:
            self._load()[key] = answer
            if self._segment is None:
                self.path.mkdir(parents=True, exist_ok=True)
                self._segment = open(self.path / f"{uuid.uuid4().hex}.jsonl", "a", encoding="utf-8")
            self._segment.write(line)
            self._segment.flush()  # paid for: on storage before the next request

    def put_many(self, items: Iterable[tuple[str, CachedAnswer]]) -> None:
        """The request engine's batched write: each answer appended as :meth:`put` does."""
        for key, answer in items:
            self.put(key, answer)

    def __len__(self) -> int:
        with self._lock:
            return len(self._load())

    def close(self) -> None:
        with self._lock:
            if self._segment is not None:
                self._segment.close()
                self._segment = None
