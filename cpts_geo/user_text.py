"""Text that comes from users or their files (CPTS and draft names, file names, names read in files).

Every such text is cleaned once when it is stored (:func:`clean_text`) and made inert where it
is shown: :func:`display_text` in a message or a terminal (no escape sequence, no bidi override),
:func:`html_text` in HTML (map tooltips and labels), :func:`markdown_text` in Streamlit Markdown
(no icon, colour or emoji shortcode either), :func:`spreadsheet_cell` in a cell of a CSV or a
workbook, so that a name like ``=HYPERLINK(…)``, ``<img onerror=…>``, ``:material/warning:`` or
``\\x1b[2J`` is shown as written and never runs. The documents drawn by matplotlib draw every
text as written (no mathematics: :mod:`cpts_geo.exports.tables`).
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
# « / » too: Streamlit turns « :material/name: » into an icon before reading the Markdown, escapes or not
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~:$/])")
#: Unicode non-characters (U+FDD0–U+FDEF and the last two code points of every plane: U+FFFE, U+FFFF…).
_NON_CHARACTERS = "\ufdd0-\ufdef" + "".join(f"{chr(plane + 0xFFFE)}{chr(plane + 0xFFFF)}"
                                             for plane in range(0, 0x110000, 0x10000))
#: Characters never shown as they are: C0 and C1 controls (terminal escapes, bells, carriage returns), line and
#: paragraph separators, bidi embeddings, overrides and isolates (text shown in another order), lone
#: surrogates and non-characters.
_NOT_SHOWN = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                        f"\ud800-\udfff{_NON_CHARACTERS}]")
#: Placeholder of a character of :data:`_NOT_SHOWN`: the Unicode picture of a C0 control (« ␛ » for ESC), else « � ».
_PLACEHOLDERS = {**{chr(code): chr(0x2400 + code) for code in range(0x20)}, "\x7f": "\u2421"}


def clean_text(text, max_length: int = MAX_NAME_LENGTH) -> str:
    """``text`` as stored: without control or format characters, lone surrogates or non-characters, white space
    folded, cut at ``max_length``."""
    text = _NOT_SHOWN.sub(" ", str(text))
    kept = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in text)
    return re.sub(r"\s+", " ", kept).strip()[:max_length]


def display_text(text, max_length: int | None = MAX_NAME_LENGTH) -> str:
    """``text`` safe to show in a message or a terminal: each character of :data:`_NOT_SHOWN` (escape, bell,
    carriage return, bidi override…) shown as a visible placeholder (``\\x1b`` → ``␛``, others ``�``), the text
    cut at ``max_length`` characters (« … » at the end; ``None``: never cut)."""
    shown = _NOT_SHOWN.sub(lambda match: _PLACEHOLDERS.get(match[0], "\ufffd"), str(text))
    return shown if max_length is None or len(shown) <= max_length else shown[:max_length - 1] + "…"


def terminal_text(message) -> str:
    """A whole message for the terminal: :func:`display_text` on each line, never cut, its line breaks kept."""
    return "\n".join(display_text(line, None) for line in str(message).split("\n"))


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
