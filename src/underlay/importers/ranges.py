"""The range of every numeric field an importer reads, checked a whole column at a time.

Every number in an imported file has a documented range: a reader collects a column's
cells as text, converts them in one NumPy call and checks the whole column at once
(:func:`parse_numbers`, :func:`parse_whole`). The first cell that is empty, not a
number, not finite (``nan``, ``inf``, ``1e309``), not whole where it must be, or
outside its range raises :class:`~underlay.errors.TraceError` naming the file, the
line, the column, the text found and the range expected. Per-cell Python runs only to
locate a cell NumPy refused, never on the good path.

The shared limits below are the scenario model's sanity bounds (a host or pod beyond
them is a typo, not a machine), so an imported number that passes its range always
makes a loadable scenario and a readable trace.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, NoReturn, TextIO

import numpy as np
import numpy.typing as npt

from underlay.errors import TraceError
from underlay.files import not_utf8, read_text
from underlay.model.scenario import MAX_CPU_MILLI, MAX_MEMORY_MIB

__all__ = [
    "MAX_CORES",
    "MAX_CPU_MILLI",
    "MAX_MEMORY_MIB",
    "MAX_NAME",
    "MAX_TRACE_TIME_S",
    "MAX_UNIX_TIME_S",
    "Bounds",
    "csv_table",
    "parse_numbers",
    "parse_whole",
    "read_utf8",
    "refuse_nul",
    "text_column",
    "without_nul",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

MAX_CORES: Final = MAX_CPU_MILLI // 1000
"""Most cores of one host, VM or pod (4,096): the scenario model's bound."""
MAX_TRACE_TIME_S: Final = 10 * 366 * 86400
"""Longest time from a trace's start, seconds (ten years; the traces span days)."""
MAX_UNIX_TIME_S: Final = 4_102_444_800
"""Latest Unix time accepted, seconds: 2100-01-01 (a larger one is milliseconds or a typo)."""
MAX_NAME: Final = 253
"""Longest name or id in an imported file (a DNS name's length)."""


@dataclass(frozen=True)
class Bounds:
    """The range of one numeric field: ``low`` to ``high`` (inclusive unless stated)."""

    low: float
    high: float
    unit: str = ""
    """Printed after the numbers, e.g. ``" cores"`` or ``"%"``."""
    whole: bool = False
    """Only whole numbers (``12`` and ``12.0`` are both fine)."""
    above_low: bool = False
    """``low`` itself is excluded (e.g. more than 0 MHz)."""

    def describe(self) -> str:
        """The range in words: ``a whole number from 1 to 4,096 cores``."""
        kind = "a whole number" if self.whole else "a number"
        low, high = _show(self.low), _show(self.high)
        if self.above_low:
            return f"{kind} more than {low} and at most {high}{self.unit}"
        return f"{kind} from {low} to {high}{self.unit}"

    def outside(self, values: F64) -> npt.NDArray[np.bool_]:
        """Mask of the finite values outside the range (or not whole when it must be)."""
        low = values <= self.low if self.above_low else values < self.low
        bad = low | (values > self.high)
        if self.whole:
            bad |= values != np.floor(values)
        return bad


def _show(number: float) -> str:
    return f"{number:,.0f}" if float(number).is_integer() else f"{number:,g}"


def refuse_nul(path: Path, text: str, line_offset: int = 0) -> None:
    """TraceError naming the line of the first NUL byte in ``text``, if any (a binary
    file, or a text file damaged by a crash)."""
    at = text.find("\x00")
    if at >= 0:
        line = line_offset + text.count("\n", 0, at) + 1
        raise TraceError(f"{path}, line {line}: a NUL byte; this is a binary file, not text")


def read_utf8(path: Path, expected: str) -> str:
    """The text of an imported file; TraceError naming the file (missing, a folder,
    unreadable) or the line of the first byte that is not UTF-8 or is NUL."""
    try:
        text = read_text(path, TraceError, expected)
    except TraceError:
        try:
            path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise not_utf8(path, TraceError) from None
        except OSError:
            pass
        raise
    refuse_nul(path, text)
    return text


def without_nul(path: Path, lines: Iterable[str]) -> Iterator[str]:
    """The lines of a text file, unchanged, raising :func:`refuse_nul`'s TraceError at
    the first NUL byte (the csv module reads NUL as data; a NUL means a binary file)."""
    for number, line in enumerate(lines):
        if "\x00" in line:
            refuse_nul(path, line, number)
        yield line


def csv_table(
    path: Path, handle: TextIO, header: Callable[[list[str] | None], list[str]]
) -> tuple[list[str], list[int], list[list[str]]]:
    """The columns, the line of every data row and the cells of every column of a CSV
    file with a header line, read from ``handle`` (opened with ``newline=""``).

    ``header`` gets the first row (``None`` for an empty file), raises the reader's own
    TraceError if it is not the header wanted, and returns the column names. Blank lines
    are skipped; a row with more or fewer fields, malformed CSV, a NUL byte or a byte
    that is not UTF-8 is a TraceError naming the line.
    """
    lines: list[int] = []
    with handle:
        reader = csv.reader(without_nul(path, handle))
        try:
            names = header(next(reader, None))
            cells: list[list[str]] = [[] for _ in names]
            width = len(names)
            for fields in reader:
                if len(fields) != width:
                    if not fields or (len(fields) == 1 and not fields[0].strip()):
                        continue  # blank line
                    raise TraceError(
                        f"{path}, line {reader.line_num}: expected {width} fields as in the "
                        f"header, found {len(fields)}"
                    )
                lines.append(reader.line_num)
                for column, cell in zip(cells, fields, strict=True):
                    column.append(cell)
        except csv.Error as exc:
            raise TraceError(f"{path}, line {reader.line_num}: malformed CSV ({exc})") from None
        except UnicodeDecodeError:
            raise not_utf8(path, TraceError) from None
    return names, lines, cells


def parse_numbers(
    path: Path,
    lines: Sequence[int] | I64,
    column: str,
    cells: Sequence[str],
    bounds: Bounds,
    *,
    blank: float | None = None,
    sentinels: tuple[float, ...] = (),
) -> F64:
    """The cells of one column as float64, every value checked against ``bounds``.

    ``lines`` gives each cell's line in the file. A blank cell is an error unless
    ``blank`` is given (its value, e.g. NaN for "no sample"); a value in ``sentinels``
    (a format's "invalid" marker, e.g. -1) is kept as it is, unchecked.
    """
    # An object array converts each cell with Python's float(), in C; a fixed-width text
    # array would be as wide as the longest cell for every row.
    text = np.array(cells, dtype=object).reshape(-1)
    blanks: npt.NDArray[np.bool_] | None = None
    if blank is not None:
        blanks = np.fromiter(map(len, cells), dtype=np.int64, count=len(cells)) == 0
        text[blanks] = "0"
    try:
        values = text.astype(np.float64)
    except ValueError:
        if blank is None:
            _locate_unparsable(path, lines, column, cells, bounds, blank_ok=False)
        # cells of spaces are blank too (rare, so found here, cell by cell)
        blanks = np.array([not cell.strip() for cell in cells], dtype=bool).reshape(-1)
        text[blanks] = "0"
        try:
            values = text.astype(np.float64)
        except ValueError:
            _locate_unparsable(path, lines, column, cells, bounds, blank_ok=True)
    checked = np.ones(values.shape, dtype=bool)
    if blanks is not None:
        checked &= ~blanks
    for sentinel in sentinels:
        checked &= values != sentinel
    finite = np.isfinite(values)
    bad = checked & ~finite
    bad[finite] |= checked[finite] & bounds.outside(values[finite])
    if bad.any():
        i = int(np.argmax(bad))
        raise _out_of_range(path, int(lines[i]), column, cells[i], float(values[i]), bounds)
    if blanks is not None:
        values[blanks] = blank
    return values


def parse_whole(
    path: Path,
    lines: Sequence[int] | I64,
    column: str,
    cells: Sequence[str],
    bounds: Bounds,
    *,
    blank: int | None = None,
) -> I64:
    """Like :func:`parse_numbers` for whole numbers (``bounds.whole``), as int64.

    The bounds keep every value well inside int64 (and exact in float64), so a
    20-digit number is "out of range", never an overflow.
    """
    if not bounds.whole or max(abs(bounds.low), abs(bounds.high)) > 2**53:
        raise ValueError("parse_whole needs whole-number bounds within +-2**53")
    values = parse_numbers(
        path, lines, column, cells, bounds, blank=None if blank is None else float(blank)
    )
    return values.astype(np.int64)


def text_column(
    path: Path,
    lines: Sequence[int] | I64,
    column: str,
    cells: Sequence[str],
    max_length: int,
    *,
    required: str | None = None,
) -> npt.NDArray[np.str_]:
    """The cells of a text column (names, ids), stripped, each at most ``max_length``
    characters; with ``required`` (what the cell names, e.g. "node name") none may be
    empty. TraceError naming the line and column of the first that is not so."""
    lengths = np.fromiter(map(len, cells), dtype=np.int64, count=len(cells))
    long = lengths > max_length
    if long.any():
        i = int(np.argmax(long))
        raise TraceError(
            f"{_where(path, int(lines[i]), column)}: {cells[i][:40]!r}... is "
            f"{int(lengths[i]):,} characters long; at most {max_length:,}"
        )
    values = np.char.strip(np.array(cells, dtype=np.str_).reshape(-1))
    if required is not None:
        empty = np.char.str_len(values) == 0
        if empty.any():
            line = int(lines[int(np.argmax(empty))])
            raise TraceError(f"{_where(path, line, column)}: empty {required}")
    return values


def _where(path: Path, line: int, column: str) -> str:
    return f"{path}, line {line}, column {column!r}"


def _locate_unparsable(
    path: Path,
    lines: Sequence[int] | I64,
    column: str,
    cells: Sequence[str],
    bounds: Bounds,
    *,
    blank_ok: bool,
) -> NoReturn:
    """Raise the TraceError for the first cell NumPy could not convert (the error path)."""
    for i, cell in enumerate(cells):
        value = cell.strip()
        if not value:
            if blank_ok:
                continue
            raise TraceError(
                f"{_where(path, int(lines[i]), column)}: empty; expected {bounds.describe()}"
            )
        try:
            float(value)
        except ValueError:
            raise TraceError(
                f"{_where(path, int(lines[i]), column)}: {value[:40]!r} is not a number; "
                f"expected {bounds.describe()}"
            ) from None
    # NumPy and Python disagree on a cell: name the column rather than guess the line.
    raise TraceError(
        f"{path}, line {int(lines[0])}, column {column!r}: a cell of this column is not a "
        f"number; expected {bounds.describe()}"
    )


def _out_of_range(
    path: Path, line: int, column: str, cell: str, value: float, bounds: Bounds
) -> TraceError:
    where = _where(path, line, column)
    shown = repr(cell.strip()[:40])
    expected = f"expected {bounds.describe()}"
    if not math.isfinite(value):
        too_big = "" if math.isnan(value) or "inf" in cell.lower() else " (too large)"
        return TraceError(f"{where}: {shown} is not a finite number{too_big}; {expected}")
    if value < 0 <= bounds.low:
        problem = "is negative"
    elif value < bounds.low or value > bounds.high or (bounds.above_low and value == bounds.low):
        problem = "is out of range"
    else:
        problem = "is not a whole number"
    return TraceError(f"{where}: {shown} {problem}; {expected}")
