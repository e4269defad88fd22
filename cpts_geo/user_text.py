"""Text that comes from users or their files (CPTS and draft names, file names, names read in files).

Every such text is cleaned once when it enters (:func:`clean_text`) and made inert where it
is shown: :func:`html_text` in HTML (map tooltips and labels), :func:`markdown_text` in
Streamlit Markdown, :func:`spreadsheet_cell` in a cell of a CSV or a workbook, so that a name
like ``=HYPERLINK(…)`` or ``<img onerror=…>`` is shown as written and never runs.
"""

from __future__ import annotations

import html
import re
import unicodedata

#: Longest name kept (a CPTS or draft name; longer text is cut, not refused).
MAX_NAME_LENGTH = 200
#: First characters that make a spreadsheet read a cell as a formula (Excel, LibreOffice, Google Sheets).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")
_NOT_IN_WORKBOOK = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~:$])")


def clean_text(text, max_length: int = MAX_NAME_LENGTH) -> str:
    """``text`` without control or format characters, white space folded, cut at ``max_length``."""
    kept = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in str(text))
    return re.sub(r"\s+", " ", kept).strip()[:max_length]


def html_text(text) -> str:
    """``text`` escaped for HTML (element content and attribute values)."""
    return html.escape(str(text), quote=True)


def markdown_text(text) -> str:
    """``text`` shown literally in Streamlit Markdown: no link, emphasis, HTML or LaTeX."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


def spreadsheet_cell(value):
    """A value that a spreadsheet shows as written: a text starting like a formula gets a leading ``'``.

    Control characters that a workbook cannot hold (XML 1.0; openpyxl refuses them) are removed.
    """
    if not isinstance(value, str):
        return value
    value = _NOT_IN_WORKBOOK.sub("", value)
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value
