"""Spreadsheets (.xlsx) as community portals export the grid operator's figures: the first sheet
whose header the importers know, turned into the same `;`-separated text the CSV readers take.

Row N of the sheet is line N of that text, so refusals name the row the household sees in Excel."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from zipfile import BadZipFile

from node.dso.errors import UnusableFile


def sheet_as_text(path: Path, recognised) -> str:
    """The text of the first sheet whose first non-blank row `recognised(row_text)` accepts (else the
    first sheet), cells joined with `;`. Numbers keep their shortest exact decimal form, times are
    written as the local wall-clock times Excel shows."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as error:
        raise UnusableFile(f"{path.name} is not a readable .xlsx workbook: {error}") from None
    try:
        sheets = [[_line(row) for row in sheet.iter_rows(values_only=True)] for sheet in book.worksheets]
    finally:
        book.close()
    for lines in sheets:
        header = next((line for line in lines if line.strip(";").strip()), "")
        if header and recognised(header):
            return "\n".join(lines) + "\n"
    return "\n".join(sheets[0]) + "\n" if sheets else ""


def _line(row) -> str:
    return ";".join(_cell(value) for value in row)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return repr(value) if not value.is_integer() else str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%d.%m.%Y %H:%M:%S") if value.tzinfo is None else value.isoformat()
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    if isinstance(value, time):
        return value.strftime("%H:%M:%S")
    text = str(value)
    # A cell is one field: the separator and line breaks inside it would split the row.
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ';"\n\r') else text
