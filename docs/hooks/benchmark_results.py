"""MkDocs hook: every ``benchmarks/results/*.md`` file, included in the benchmarks page at build time.

Each results file starts with the command that made it; its headings are moved two levels down
so they nest under one "Results files" section. A new results file appears without a hand edit.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
MARKER = "<!-- benchmark-results -->"


def _demote(text: str, levels: int = 2) -> str:
    """Headings outside code fences get ``levels`` more ``#``."""
    out, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(r"#{1,6} ", line):
            line = "#" * levels + line
        out.append(line)
    return "\n".join(out)


def render() -> str:
    parts = []
    for path in sorted(RESULTS.glob("*.md")):
        parts.append(f"### `{path.name}`\n\n" + _demote(path.read_text(encoding="utf-8"), 3))
    return "\n\n".join(parts) + "\n"


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    return markdown.replace(MARKER, render()) if MARKER in markdown else markdown
