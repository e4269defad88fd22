"""Tables as files for French spreadsheets: CSV (``;``, UTF-8 with BOM, decimal commas, codes kept as text) and
XLSX workbooks with number formats, widths, a bold frozen header with filters, a title and real properties.

Every workbook of the project goes through :func:`style_table` and :func:`set_properties`; every CSV through
:func:`csv_cell`. No cell can become a formula (:func:`cpts_geo.user_text.spreadsheet_cell`).
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
from numbers import Number

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from cpts_geo.user_text import clean_text, spreadsheet_cell

AUTHOR = "cpts-geo"
#: Invisible mark (U+2060 WORD JOINER) before a text a spreadsheet would read as a number (a code: ``09225``):
#: LibreOffice and Excel then keep it as text, leading zero included. Code readers drop it (``normalise_code``).
TEXT_MARK = "\u2060"
#: a text of figures and separators only, that a spreadsheet opening a CSV turns into a number or a date:
#: ``09225`` → 9225, ``(123)`` → -123; a list ``11, 66`` stays text
NUMBER_LIKE = re.compile(r"(?!.*, )[\d\s.,/:%+()-]*\d[\d\s.,/:%+()-]*")
#: XLSX number formats (written in the file's own notation, shown in the reader's: ``1 234``, ``14,3 %``)
THOUSANDS, DECIMAL, PERCENT, EUROS, YEAR, TEXT = "#,##0", "#,##0.0##", "0.0%", '#,##0 "€"', "0", "@"
HEADER_FILL = PatternFill("solid", fgColor="DDDDDD")
MAX_WIDTH = 60
WRAPPED = Alignment(wrap_text=True, vertical="top")


def document_author(author: str | None = None) -> str:
    """The author written in a document's metadata: the porteur (cleaned user text) with cpts-geo,
    ``CPTS Ruscino (cpts-geo)``, or ``cpts-geo`` alone."""
    author = clean_text(author or "")
    return f"{author} ({AUTHOR})" if author else AUTHOR


def number_format(label: str, value) -> str | None:
    """The XLSX format of a figure labelled ``label`` (its column, or its row in a table of indicators):
    a share in %, euros, a year without separator, a count with thousands separators, a decimal;
    ``None`` for a text."""
    if not is_figure(value):
        return TEXT if isinstance(value, str) and NUMBER_LIKE.fullmatch(value) else None
    label = str(label)
    if label.startswith("Part "):
        return PERCENT
    if "€" in label:
        return EUROS
    if "millésime" in label.lower():
        return YEAR
    return THOUSANDS if float(value).is_integer() else DECIMAL


def is_figure(value) -> bool:
    """A number to write as a number (not a boolean, not a missing value)."""
    return isinstance(value, Number) and not isinstance(value, bool) and not math.isnan(value)


def is_missing(value) -> bool:
    """No value: ``None``, pandas' ``NA`` or NaN (an empty cell)."""
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def csv_cell(value, label: str = "") -> str:
    """A cell of a CSV for a French spreadsheet: ``3,444``, ``2`` (not ``2.0``), a share ``14,31 %``, a missing
    figure empty, a code as text (:data:`TEXT_MARK`), no formula."""
    if is_missing(value):
        return ""
    if is_figure(value):
        if number_format(label, value) == PERCENT:
            return _decimal_comma(round(float(value) * 100, 10)) + "\u00a0%"
        return _decimal_comma(value)
    text = spreadsheet_cell(str(value))
    return TEXT_MARK + text if NUMBER_LIKE.fullmatch(text) else text


def _decimal_comma(value) -> str:
    if float(value).is_integer():
        return str(int(value))
    return f"{float(value):.10f}".rstrip("0").replace(".", ",")


def _row_labels(table: pd.DataFrame) -> list[str] | None:
    """The label of each row of a table of indicators (first column « Indicateur … »), else ``None``."""
    return list(map(str, table.iloc[:, 0])) if str(table.columns[0]).startswith("Indicateur") else None


def report_csv(table: pd.DataFrame) -> bytes:
    """A table as CSV for a French spreadsheet (``;``, UTF-8 with BOM, :func:`csv_cell`)."""
    labels = _row_labels(table)
    rows = [[csv_cell(value, labels[i] if labels else column) for column, value in zip(table.columns, row)]
            for i, row in enumerate(table.itertuples(index=False))]
    cells = pd.DataFrame(rows, columns=[csv_cell(c) for c in table.columns])
    return cells.to_csv(sep=";", index=False, lineterminator="\r\n").encode("utf-8-sig")


def set_properties(book: Workbook, title: str, subject: str, author: str | None = None) -> None:
    """Real properties of a workbook: title, subject, author (:func:`document_author`), French."""
    properties = book.properties
    properties.creator = properties.lastModifiedBy = document_author(author)
    properties.title, properties.subject = clean_text(title), clean_text(subject)
    properties.language = "fr-FR"


def write_title(sheet, title: str) -> None:
    """The title of a sheet in its first row, in bold."""
    sheet.cell(1, 1, spreadsheet_cell(clean_text(title))).font = Font(bold=True, size=13)


def append_table(sheet, table: pd.DataFrame, header_row: int) -> None:
    """``table`` written from ``header_row`` (its header) and styled by :func:`style_table`."""
    labels = _row_labels(table)
    for column, name in enumerate(table.columns, 1):
        sheet.cell(header_row, column, spreadsheet_cell(str(name)))
    for i, row in enumerate(table.itertuples(index=False)):
        for column, value in enumerate(row, 1):
            if not is_missing(value):
                plain = value.item() if hasattr(value, "item") else value     # numpy scalars as Python's
                sheet.cell(header_row + 1 + i, column, spreadsheet_cell(plain))
    style_table(sheet, header_row, len(table), len(table.columns), labels)


def style_table(sheet, header_row: int, rows: int, columns: int, row_labels: list[str] | None = None) -> None:
    """Style the table whose header is at ``header_row`` (``rows`` rows under it): bold grey header that wraps,
    frozen under it, filters, number formats (:func:`number_format`, by column or by ``row_labels``), columns
    as wide as their content (at most :data:`MAX_WIDTH` characters, longer sentences wrapped)."""
    headers = [sheet.cell(header_row, c).value for c in range(1, columns + 1)]
    for cell in sheet[header_row][:columns]:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = WRAPPED
    widths = [max([len(word) + 2 for word in str(name).split()] + [min(len(str(name)), 24), 6])  # bold: wider
              for name in headers]
    for i, row in enumerate(sheet.iter_rows(min_row=header_row + 1, max_row=header_row + rows, max_col=columns)):
        for column, cell in enumerate(row):
            fmt = number_format(row_labels[i] if row_labels else headers[column], cell.value)
            if fmt:
                cell.number_format = fmt
            elif isinstance(cell.value, str) and len(cell.value) > MAX_WIDTH and re.search(r"[^\W\d]", cell.value):
                cell.alignment = WRAPPED                            # a sentence: read whole in its column
            widths[column] = max(widths[column], _shown_length(cell.value, fmt))
    for column, width in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(column)].width = min(MAX_WIDTH, width + 2)
    sheet.freeze_panes = sheet.cell(header_row + 1, 1)
    if rows:
        sheet.auto_filter.ref = f"A{header_row}:{get_column_letter(columns)}{header_row + rows}"


def _shown_length(value, fmt: str | None) -> int:
    """About how many characters a cell shows."""
    if value is None:
        return 0
    if not is_figure(value):
        return len(str(value))
    if fmt == PERCENT:
        return len(f"{value * 100:.1f} %")
    digits = f"{value:,.0f}" if fmt in (THOUSANDS, EUROS) else f"{value:,.3f}".rstrip("0")
    return len(digits) + (2 if fmt == EUROS else 0)


def tables_workbook(tables: dict[str, pd.DataFrame], title: str, subject: str) -> bytes:
    """The tables as one XLSX workbook, a sheet each: the title and the sheet's name in its first row, the table
    from the second (:func:`append_table`)."""
    book = Workbook()
    book.remove(book.active)
    set_properties(book, title, subject)
    for name, table in tables.items():
        sheet = book.create_sheet(name)
        write_title(sheet, f"{title} — {name}")
        append_table(sheet, table, header_row=2)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def report_files(tables: dict[str, pd.DataFrame], stem: str, title: str, subject: str) -> dict[str, bytes]:
    """The tables as one XLSX workbook (:func:`tables_workbook`) and one CSV each (:func:`report_csv`), by file
    name: ``{stem}.xlsx``, ``{stem}_zones_blanches.csv``…"""
    files = {f"{stem}.xlsx": tables_workbook(tables, title, subject)}
    for sheet, table in tables.items():
        plain = unicodedata.normalize("NFKD", sheet).encode("ascii", "ignore").decode().lower().replace(" ", "_")
        files[f"{stem}_{plain}.csv"] = report_csv(table)
    return files
