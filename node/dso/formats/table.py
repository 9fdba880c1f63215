"""Reading the CSV exports of grid operators' portals: separators, header names, line numbers."""

from __future__ import annotations

import csv
import unicodedata
from typing import Iterator, TextIO

_SEPARATORS = (";", ",", "\t")
_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def normalize(name: str) -> str:
    """A header or cell as the formats match it: lower case, umlauts spelt out, accents dropped, one space."""
    name = name.strip().lstrip("\ufeff").strip('"').lower().translate(_GERMAN)
    name = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return " ".join(name.replace("_", " ").split())


def separator(line: str) -> str:
    return max(_SEPARATORS, key=line.count)


def named(name: str, candidates: tuple[str, ...]) -> bool:
    """`name` is one of `candidates`, or one followed by a unit or remark: "wert [kwh]", "pas (min)"."""
    return any(name == c or name.startswith(c + " ") or name.startswith(c + "[") or name.startswith(c + "(")
               for c in candidates)


def find(header: list[str], candidates: tuple[str, ...], taken: set[int] = frozenset()) -> int | None:
    """The column of the first candidate (in the candidates' order) the header names."""
    for candidate in candidates:
        for index, name in enumerate(header):
            if index not in taken and named(name, (candidate,)):
                return index
    return None


class Lines:
    """The non-blank rows of a CSV stream, each with the line it began on; a row the csv module
    cannot read comes as None fields, so the caller refuses it and reading goes on."""

    def __init__(self, stream: TextIO, delimiter: str, first_line: int = 0):
        self._reader = csv.reader(stream, delimiter=delimiter)
        self._offset = first_line
        self._end = 0

    def __iter__(self) -> Iterator[tuple[int, list[str] | None, str]]:
        while True:
            try:
                fields = next(self._reader)
            except StopIteration:
                return
            except csv.Error as error:
                start, self._end = self._end + 1, self._reader.line_num
                yield start + self._offset, None, str(error)
                continue
            start, self._end = self._end + 1, self._reader.line_num
            if fields and any(field.strip() for field in fields):
                yield start + self._offset, fields, ""


def header_line(stream: TextIO) -> tuple[str, int]:
    """The first non-blank line (a BOM dropped) and its number; '' when the file is empty."""
    for number, line in enumerate(stream, start=1):
        if line.strip():
            return line.lstrip("\ufeff"), number
    return "", 0
