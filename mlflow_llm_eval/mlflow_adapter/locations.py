"""Where a full results table is written (both doors write one) and the run tag that says so.

>>> is_path("/Volumes/main/eval/scores"), is_path("main.eval.qa_scores")
(True, False)
"""

from __future__ import annotations

#: The run tag holding where the full per-row table was written (a path or a table name).
LOCATION_TAG = "llm_eval.results_table"


def is_path(target: str) -> bool:
    """A path (``/...``, ``./...``, ``scheme://...``) rather than a table name."""
    return target.startswith(("/", "./", "../", "~")) or "://" in target
