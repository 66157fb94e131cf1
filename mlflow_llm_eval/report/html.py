"""Small HTML building blocks for self-contained reports: every text goes through ``esc``
(which also redacts credentials by the broad rules of :mod:`mlflow_llm_eval.redaction`), except
the user's own cells, shown as given (``text_cell(..., as_given=True)``: escaped only; the
report replaced the run's exact credentials in them first, as the logged table does).

    >>> esc("<b>&</b>")
    '&lt;b&gt;&amp;&lt;/b&gt;'
    >>> fmt(0.123456), fmt(float("nan")), fmt(12345.678)
    ('0.1235', '–', '12,345.7')
    >>> num_cell("x/v1/mean", 0.5)
    '<td class="num" data-key="x/v1/mean" data-value="0.5">0.5</td>'
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from mlflow_llm_eval.redaction import redact_text

MISSING = "–"

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1200px;
color:#1d2330;padding:0 16px;line-height:1.4}
h1{font-size:1.5em;margin-bottom:4px}h2{font-size:1.15em;margin-top:28px;border-bottom:1px solid #dde;
padding-bottom:4px}h3{font-size:1em;margin:18px 0 6px}
table{border-collapse:collapse;margin:8px 0;font-size:.9em}th,td{border:1px solid #d6dbe4;padding:4px 8px;
vertical-align:top;text-align:left}th{background:#f2f4f8}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.winner td{background:#eaf7ea;font-weight:600}tr.failed td{background:#fdeeee}
.muted{color:#667}.small{font-size:.85em}.text{max-width:420px;white-space:pre-wrap;word-break:break-word}
.tag{display:inline-block;padding:1px 6px;border-radius:8px;background:#eef;font-size:.8em}
.bad{color:#a11}.good{color:#174}.plots{display:flex;flex-wrap:wrap;gap:12px}.plots figure{margin:0}
figcaption{font-size:.8em;color:#556;text-align:center}
"""


def esc(value: Any) -> str:
    """HTML-escape any value's text (quotes included), credentials redacted."""
    return html.escape(redact_text(str(value)), quote=True)


def is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return not isinstance(value, (bool, str))


def fmt(value: Any) -> str:
    """A number for display: 4 significant digits, thousands separated, NaN/None as '–'."""
    if value is None or not is_number(value):
        return MISSING if value is None else esc(value)
    number = float(value)
    if math.isnan(number):
        return MISSING
    if math.isinf(number):
        return "∞" if number > 0 else "-∞"
    if abs(number) >= 1000:
        return f"{number:,.1f}"
    return f"{number:.4g}"


def num_cell(
    key: str,
    value: Any,
    extra_class: str = "",
    *,
    note: str = "",
    attrs: dict[str, str] | None = None,
) -> str:
    """A numeric cell that carries the exact value (``data-value``) next to its display."""
    exact = "" if value is None or not is_number(value) else repr(float(value))
    cls = f"num {extra_class}".strip()
    more = "".join(f' data-{esc(k)}="{esc(v)}"' for k, v in (attrs or {}).items())
    small = f"<br><span class='small muted'>{esc(note)}</span>" if note else ""
    return (
        f'<td class="{cls}" data-key="{esc(key)}" data-value="{esc(exact)}"{more}>'
        f"{fmt(value)}{small}</td>"
    )


def text_cell(value: Any, limit: int = 600, *, as_given: bool = False) -> str:
    """A cell for text (inputs, predictions, justifications, reasons), escaped and clipped.

    ``as_given``: a user's cell, HTML-escaped but not redacted (the caller already replaced
    the run's exact credentials); otherwise the package's text, redacted by the broad rules.

        >>> text_cell("export api_key=sk-abc123def456ghi789jkl", as_given=True)
        '<td class="text">export api_key=sk-abc123def456ghi789jkl</td>'
        >>> text_cell("export api_key=sk-abc123def456ghi789jkl")
        '<td class="text">export api_key=[REDACTED]</td>'
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f'<td class="muted">{MISSING}</td>'
    text = str(value)
    if len(text) > limit:
        text = text[:limit] + f" … [{len(str(value)) - limit} more characters]"
    shown = html.escape(text, quote=True) if as_given else esc(text)
    return f'<td class="text">{shown}</td>'


def table(headers: Sequence[str], rows: Iterable[str], css_class: str = "") -> str:
    """``rows`` are ready ``<tr>`` strings; headers are escaped."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    cls = f' class="{esc(css_class)}"' if css_class else ""
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def row(cells: Iterable[str], css_class: str = "") -> str:
    cls = f' class="{esc(css_class)}"' if css_class else ""
    return f"<tr{cls}>{''.join(cells)}</tr>"


def details_list(items: Iterable[tuple[str, Any]]) -> str:
    """A two-column key/value table (run details)."""
    body = "".join(f"<tr><th>{esc(k)}</th><td class='text'>{esc(v)}</td></tr>" for k, v in items)
    return f"<table class='details'>{body}</table>"


def image(png_base64: str | None, caption: str) -> str:
    if png_base64 is None:
        return ""
    return (
        f'<figure><img alt="{esc(caption)}" src="data:image/png;base64,{png_base64}">'
        f"<figcaption>{esc(caption)}</figcaption></figure>"
    )


def page(title: str, sections: Iterable[str]) -> str:
    """A complete, self-contained HTML document (inline CSS, embedded images, no scripts)."""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = "\n".join(sections)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{esc(title)}</h1><p class='muted small'>generated by mlflow-llm-eval, {stamp}</p>"
        f"{body}</body></html>\n"
    )
