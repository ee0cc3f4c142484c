"""The report's tables as one CSV file (:func:`to_csv`), for a spreadsheet or a script.

Every table of the report (:func:`underlay.report.sections.report_sections`, the same
tables as the Markdown and HTML reports, figures written by the same rules) is written in
long form, one cell a line::

    section,table,row,unit,column,value
    performance,Substrates (placement and capacity),hosts,,baremetal-dedicated,27

``row`` is the row's label (a measure or a tenant; the row's number in a table without
labels, the Pareto frontier), ``unit`` the measure's unit where the table has one per
row, ``column`` the column's header (a substrate, mostly). Values are the text the
reports show (``$2,673``, ``12.5%``, ``–`` for none): the JSON (``--json``) has the raw
numbers. Names are written as given; the ``csv`` module quotes what needs quoting, and a
cell that a spreadsheet would read as a formula (``=``, ``+``, ``-``, ``@`` first, not a
number) is prefixed with ``'``.
"""

from __future__ import annotations

import csv
import io
import re

from underlay.analysis.results import Analysis, Comparison
from underlay.decision.results import Decision
from underlay.report.document import Section
from underlay.report.sections import report_sections
from underlay.simulation.results import Simulation

__all__ = ["HEADER", "sections_to_csv", "to_csv"]

HEADER = ["section", "table", "row", "unit", "column", "value"]
_FORMULA = re.compile(r"^[=+\-@\t\r]")
_NUMBER = re.compile(r"^[-+]?\d")


def _safe(cell: str) -> str:
    """``cell``, with a leading ``'`` if a spreadsheet would run it as a formula."""
    return "'" + cell if _FORMULA.match(cell) and not _NUMBER.match(cell) else cell


def sections_to_csv(sections: list[Section]) -> str:
    """The tables of ``sections`` in long form (module docstring)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for s in sections:
        for t in s.tables:
            units = list(t.units) or [""] * len(t.rows)
            first = min(t.left, 1)  # the row's label; further label columns are values
            for k, (row, unit) in enumerate(zip(t.rows, units, strict=True)):
                label = row[0] if first else str(k + 1)
                for header, value in zip(t.header[first:], row[first:], strict=True):
                    cells = [s.key, t.title, label, unit, header, value]
                    writer.writerow([_safe(c) for c in cells])
    return out.getvalue()


def to_csv(
    comparison: Comparison,
    simulation: Simulation | None = None,
    analysis: Analysis | None = None,
    decision: Decision | None = None,
) -> str:
    """Every table of the report as CSV; stages passed as None leave their tables out."""
    return sections_to_csv(report_sections(comparison, simulation, analysis, decision))
