"""The report's document model: one formatter per unit, tables built from column
declarations and shown the same by every writer, JSON records declared as fields, and
the CSV writer.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from rich.console import Console

from underlay import compare, load_scenario
from underlay.model.scenario import Scenario
from underlay.pipeline import Analysis, Comparison, Simulation, analyse, simulate
from underlay.report.columns import SUBSTRATE_COLUMNS, Column
from underlay.report.csv import HEADER, to_csv
from underlay.report.document import Table, transposed
from underlay.report.json_fields import attr, each, group, num, record, renamed, rounded, same
from underlay.report.markdown import render_markdown
from underlay.report.sections import report_sections
from underlay.report.terminal import grid_of
from underlay.report.units import cores, gib, pct, share, times, usd

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "saas-platform.yaml"


@cache
def _saas() -> tuple[Comparison, Simulation, Analysis]:
    scenario = load_scenario(EXAMPLE)
    comparison = compare(scenario)
    simulation = simulate(scenario, comparison=comparison)
    return comparison, simulation, analyse(comparison, simulation)


# ---------------------------------------------------------------------------- units


@pytest.mark.parametrize(
    ("kwargs", "x", "expected"),
    [
        ({}, 2673.4, "$2,673"),  # whole dollars, thousands separated
        ({}, 2673.6, "$2,674"),
        ({"symbol": False}, 12_345.2, "12,345"),  # under a "USD" unit
        ({"digits": 4}, 0.012_34, "$0.0123"),  # per pod-hour
        ({}, 0.0, "$0"),  # nothing: no cents
        ({}, 35.0, "$35.00"),  # below $100: cents (a budget, a move's extra cost)
        ({}, 100.0, "$100"),  # from $100: whole dollars
        ({"symbol": False}, 2.0, "2.00"),
    ],
)
def test_one_usd_rule(kwargs: dict[str, object], x: float, expected: str) -> None:
    assert usd(x, **kwargs) == expected  # type: ignore[arg-type]


def test_the_other_units() -> None:
    assert pct(12.345) == "12.3%"
    assert pct(99.5, 0) == "100%"
    assert share(1, 4) == "25%"
    assert share(1, 0) == "–"  # no capacity: no share
    assert cores(9_940) == "9.9"  # one decimal below ten cores
    assert cores(12_400) == "12"  # whole cores from ten up
    assert gib(3 * 1024) == "3"
    assert times(5.6) == "5.6×"  # the sign after the figure, as "× an idle host" reads
    assert times(1.234, 2) == "1.23×"


# ---------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class _Item:
    name: str
    x: float


_COLUMNS: list[Column[_Item]] = [
    Column("x", "USD / month", lambda i: usd(i.x, symbol=False)),
    Column("twice", "", lambda i: f"{2 * i.x:g}"),
]


def test_a_transposed_table_keeps_units_apart_and_each_writer_shows_them() -> None:
    items = [_Item("a", 1500.0), _Item("b", 2.0)]
    t = transposed("T", _COLUMNS, items)
    assert t.header == ["", "a", "b"]
    assert t.rows == [["x", "1,500", "2.00"], ["twice", "3000", "4"]]
    assert list(t.units) == ["USD / month", ""]
    # Markdown and HTML: "title, unit"; no unit, no comma
    assert [r[0] for r in t.labelled()] == ["x, USD / month", "twice"]
    # the terminal: the unit dimmed beside the title
    grid = grid_of(t)
    assert [label.plain for label in grid.labels] == ["x USD / month", "twice"]
    assert [[c.plain for c in row] for row in grid.cells] == [r[1:] for r in t.rows]
    assert list(grid.headers) == ["a", "b"]


def test_the_terminal_and_markdown_show_the_same_substrate_figures() -> None:
    comparison, _, _ = _saas()
    md = render_markdown(comparison)
    console = Console(width=400, record=True, color_system=None)
    from underlay.report.terminal import render_comparison

    render_comparison(comparison, console)
    shown = console.export_text()
    for c in SUBSTRATE_COLUMNS:
        cells = [c.text(s) for s in comparison.substrates]
        row = "| " + " | ".join([f"{c.title}, {c.unit}" if c.unit else c.title, *cells])
        assert row in md.replace("\\", ""), c.title
        assert all(cell in shown for cell in cells), c.title


# ---------------------------------------------------------------------------- JSON fields


@dataclass(frozen=True)
class _Part:
    k: str
    v: float


@dataclass(frozen=True)
class _Thing:
    name: str
    count: int
    ratio: float
    maybe: float | None
    parts: list[_Part]


def test_json_fields_keep_their_order_rounding_and_nesting() -> None:
    thing = _Thing("t", 3, 0.123_456_78, None, [_Part("p", 1.0 / 3)])
    fields = [
        *same("name"),
        *rounded(4, "count"),  # rounded: a float, even from an int
        group("g", renamed(2, r="ratio")),
        attr("maybe", "maybe", 2, optional=True),
        each("parts", "parts", [*same("k"), *rounded(3, "v")]),
    ]
    out = record(fields, thing)
    assert list(out) == ["name", "count", "g", "maybe", "parts"]
    assert json.dumps(out) == (
        '{"name": "t", "count": 3.0, "g": {"r": 0.12}, "maybe": null, '
        '"parts": [{"k": "p", "v": 0.333}]}'
    )
    assert num(2) == 2.0 and isinstance(num(2), float)


# ---------------------------------------------------------------------------- CSV


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _cells(tables: list[Table]) -> int:
    # one line per cell right of the row's label (a table without labels: every cell)
    return sum(len(t.rows) * (len(t.header) - min(t.left, 1)) for t in tables)


def test_csv_holds_every_cell_of_every_table_once() -> None:
    comparison, simulation, analysis = _saas()
    text = to_csv(comparison, simulation, analysis)
    rows = _rows(text)
    assert rows[0] == HEADER
    sections = report_sections(comparison, simulation, analysis)
    assert len(rows) - 1 == _cells([t for s in sections for t in s.tables])
    # the substrate table: its hosts row for each substrate, as the column declares it
    hosts = SUBSTRATE_COLUMNS[0]
    for s in comparison.substrates:
        line = ["performance", "Substrates (placement and capacity)", hosts.title, hosts.unit]
        assert [*line, s.name, hosts.text(s)] in rows


def _renamed(scenario: Scenario, name: str) -> Scenario:
    # Tenant names are still restricted by the model: bypass validation on purpose.
    tenants = list(scenario.tenants)
    tenants[0] = tenants[0].model_copy(update={"name": name})
    return scenario.model_copy(update={"tenants": tenants})


def test_csv_quotes_names_and_defuses_formulas() -> None:
    odd = '=HYPERLINK("http://e","x"), "quoted"\nline'
    comparison = compare(_renamed(load_scenario(EXAMPLE), odd))
    rows = _rows(to_csv(comparison))
    labels = {r[2] for r in rows[1:]}
    assert "'" + odd in labels  # read back whole, and not as a formula
    assert odd not in labels
    assert len({len(r) for r in rows}) == 1  # no row split by a comma or a line break


def test_compare_csv_writes_the_apis_tables(tmp_path: Path) -> None:
    # `underlay compare --csv` writes what to_csv gives for the same run (placement and
    # simulation here: --no-analyse), and refuses to write over the scenario.
    from typer.testing import CliRunner

    from underlay.cli import app

    edge = REPO / "examples" / "edge-site.yaml"
    out = tmp_path / "tables.csv"
    result = CliRunner().invoke(app, ["compare", str(edge), "--no-analyse", "--csv", str(out)])
    assert result.exit_code == 0, result.output
    scenario = load_scenario(edge)
    comparison = compare(scenario)
    expected = to_csv(comparison, simulate(scenario, comparison=comparison))
    assert out.read_text(encoding="utf-8") == expected
    assert _rows(expected)[0] == HEADER

    refused = CliRunner().invoke(app, ["compare", str(edge), "--csv", str(edge)])
    assert refused.exit_code == 2
    assert not list(tmp_path.glob(".*"))
