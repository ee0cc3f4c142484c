"""The report as a document: sections of tables, declared once, written by every writer.

A :class:`Table` is plain text cells under a header; a table of measures (one row per
measure, one column per substrate) is built from column declarations
(:class:`~underlay.report.columns.Column`: title, unit, text) by :func:`transposed`, and
keeps each row's unit apart (:attr:`Table.units`) so each writer shows it its own way:
the Markdown and HTML reports as ``title, unit``, the terminal dimmed beside the title
(:func:`underlay.report.terminal.grid_of`), the CSV in a column of its own
(:mod:`underlay.report.csv`). Every figure in a cell is written by the one rule of its
unit (:mod:`underlay.report.units`).

Each table says where it is shown (:attr:`Table.views`): the documents (Markdown, HTML,
CSV) show those tagged ``document``, the terminal those tagged ``terminal``; the tables
themselves are declared once, in :mod:`underlay.report.tables` and
:mod:`underlay.report.tables_decision`.

Texts here are plain and unescaped: names come from user input, so each writer escapes
them for its own format.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from underlay.report.columns import Column

__all__ = [
    "DOCUMENT",
    "EVERYWHERE",
    "TERMINAL",
    "Section",
    "Table",
    "View",
    "is_figure",
    "missing",
    "notes_once",
    "per_tenant",
    "transposed",
]

Row = TypeVar("Row")

View = Literal["terminal", "document"]
"""Where a table is shown: the terminal, or the documents (Markdown, HTML, CSV)."""

TERMINAL: frozenset[View] = frozenset({"terminal"})
DOCUMENT: frozenset[View] = frozenset({"document"})
EVERYWHERE: frozenset[View] = TERMINAL | DOCUMENT

_FIGURE = re.compile(r"^[-+$]?\d")


def is_figure(cell: str) -> bool:
    """Whether a cell reads as a figure (right-aligned): short, starting with a number
    ("1,548 / 12,710", "27 (1.00×)", "$2,673"; not a sentence that starts with one)."""
    return len(cell) <= 20 and bool(_FIGURE.match(cell))


@dataclass(frozen=True)
class Table:
    """A table of plain text cells; the first ``left`` columns are labels. ``units``, when
    given, is one per row: the unit of the measure the row's label names. ``views`` says
    where it is shown (the terminal shows fewer tables than the documents); ``tenants``
    that its rows are the scenario's tenants, in order (the terminal may show the first
    few only)."""

    title: str
    header: list[str]
    rows: list[list[str]]
    left: int = 1
    units: Sequence[str] = ()
    views: frozenset[View] = EVERYWHERE
    tenants: bool = False

    def labelled(self) -> list[list[str]]:
        """The rows with each unit after its label (``cost, USD / month``), as the
        Markdown and HTML reports show them."""
        if not self.units:
            return self.rows
        return [
            [f"{row[0]}, {unit}" if unit else row[0], *row[1:]]
            for row, unit in zip(self.rows, self.units, strict=True)
        ]

    def right_aligned(self) -> list[bool]:
        """Per column: labels left, other columns right when most of their cells are
        figures ("–" for none does not count)."""
        out = []
        for k in range(len(self.header)):
            cells = [r[k] for r in self.rows if k < len(r) and r[k] not in ("", "–")]
            figures = sum(is_figure(c) for c in cells)
            out.append(k >= self.left and 2 * figures >= len(cells) > 0)
        return out


@dataclass(frozen=True)
class Section:
    """One part of the report: what it shows, findings, tables, and notes (including what
    is missing and why)."""

    key: str  # anchor: scorecard | performance | sla | isolation | versions | cost | tradeoffs
    title: str
    intro: str
    points: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def transposed(
    title: str,
    columns: Sequence[Column[Row]],
    items: Sequence[Row],
    names: Sequence[str] | None = None,
    views: frozenset[View] = EVERYWHERE,
) -> Table:
    """One row per measure (``columns``), one column per item (a substrate, headed by
    ``names`` or the item's ``name``)."""
    if names is None:
        names = [str(getattr(i, "name", "")) for i in items]
    rows = [[c.title, *(c.text(i) for i in items)] for c in columns]
    return Table(title, ["", *names], rows, units=[c.unit for c in columns], views=views)


def per_tenant(
    title: str,
    names: list[str],
    substrates: list[str],
    cell: Callable[[int, int], str],
    extra: tuple[str, Callable[[int], str]] | None = None,
    views: frozenset[View] = EVERYWHERE,
) -> Table:
    """One row per tenant, one column per substrate (``extra``: a column after the name)."""
    header = ["tenant", *([extra[0]] if extra else []), *substrates]
    rows = [
        [n, *([extra[1](i)] if extra else []), *(cell(i, j) for j in range(len(substrates)))]
        for i, n in enumerate(names)
    ]
    return Table(title, header, rows, 2 if extra else 1, views=views, tenants=True)


def notes_once(per_substrate: Sequence[tuple[str, Sequence[str]]]) -> list[tuple[str, str]]:
    """Each distinct note once, with the substrates it applies to (``""`` when all)."""
    where: dict[str, list[str]] = {}
    for name, notes in per_substrate:
        for note in notes:
            where.setdefault(note, []).append(name)
    return [
        (note, "" if len(names) == len(per_substrate) else ", ".join(names))
        for note, names in where.items()
    ]


def missing(what: str, stage: str) -> str:
    """One line saying what is not shown and which stage did not run."""
    return f"No {what}: the {stage} did not run."
