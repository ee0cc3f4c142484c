"""One report model: the terminal, the Markdown report and the CSV show the same figures,
cell for cell, and each is the JSON's figure written by the rule of its unit.

The run is the bundled SaaS example through every stage (placement, simulation, analyses,
decision), as ``compare`` runs it. The expected text of each figure is derived here from
the JSON's number, by the rule written out in each check (never by the report's own
formatter); the JSON keeps a few digits only, so a figure is compared as a number within
half its last shown digit, and the three text outputs as text.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from underlay import compare, load_scenario
from underlay.decision.decide import decide
from underlay.decision.results import Decision
from underlay.pipeline import Analysis, Comparison, Simulation, analyse, simulate
from underlay.report import tables, tables_decision
from underlay.report.csv import to_csv
from underlay.report.decision_terminal import render_decision
from underlay.report.document import Table
from underlay.report.json import comparison_to_dict
from underlay.report.json_decision import decision_to_dict
from underlay.report.markdown import render_markdown
from underlay.report.sections import report_sections
from underlay.report.terminal import render_analysis, render_comparison, render_simulation

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "saas-platform.yaml"

Cells = dict[str, dict[str, str]]  # row label → column header → cell


@cache
def _run() -> tuple[Comparison, Simulation, Analysis, Decision]:
    scenario = load_scenario(EXAMPLE)
    comparison = compare(scenario)
    simulation = simulate(scenario, comparison=comparison)
    analysis = analyse(comparison, simulation)
    return comparison, simulation, analysis, decide(comparison, simulation, analysis)


@cache
def _outputs() -> tuple[str, str, str, dict[str, Any]]:
    """(terminal, Markdown, CSV, JSON) of one run of the example."""
    comparison, simulation, analysis, decision = _run()
    # wide enough that no cell wraps: one line a row
    console = Console(file=io.StringIO(), width=1000, no_color=True, highlight=False)
    costs = [a.cost for a in analysis.substrates if a.cost is not None]
    render_comparison(comparison, console, max_tenants=None, costs=costs)
    render_simulation(simulation, console, max_tenants=None)
    render_analysis(analysis, console, max_tenants=None)
    render_decision(decision, console, max_tenants=None)
    terminal = console.file.getvalue()  # type: ignore[attr-defined]
    md = render_markdown(comparison, simulation, analysis, decision)
    table_csv = to_csv(comparison, simulation, analysis, decision)
    data = comparison_to_dict(comparison, simulation, analysis)
    data["decision"] = decision_to_dict(decision)
    return terminal, md, table_csv, data


def _terminal(text: str, title: str) -> Cells:
    """The rows of the terminal table titled ``title`` (a tenant's second label line, its
    class or target, left out; a measure's unit after its label, as the terminal puts it)."""
    lines = text.splitlines()
    at = lines.index(title)
    header = [c.strip() for c in lines[at + 2].strip("┃").split("┃")]
    out: Cells = {}
    for line in lines[at + 4 :]:
        if line.startswith("└"):
            break
        cells = [c.strip() for c in line.strip("│").split("│")]
        if line.startswith("│") and any(cells[1:]):
            out[cells[0]] = dict(zip(header[1:], cells[1:], strict=True))
    return out


def _markdown(text: str, title: str) -> Cells:
    block = text.split(f"**{title}**\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    header = [c.strip() for c in block[0].strip("|").split(" | ")]
    out: Cells = {}
    for line in block[2:]:
        cells = [c.strip().replace("\\", "") for c in line.strip("|").split(" | ")]
        out[cells[0]] = dict(zip(header[1:], cells[1:], strict=True))
    return out


def _csv(text: str, title: str) -> Cells:
    out: Cells = {}
    for row in csv.DictReader(io.StringIO(text)):
        if row["table"] == title:
            label = f"{row['row']}, {row['unit']}" if row["unit"] else row["row"]
            out.setdefault(label, {})[row["column"]] = row["value"]
    return out


def _everywhere(title: str, label: str, md_label: str | None = None) -> dict[str, str]:
    """The row ``label`` of the table ``title``, the same in the terminal, the Markdown
    report and the CSV (asserted); ``md_label``: its label in the documents, unit added."""
    terminal, md, table_csv, _ = _outputs()
    shown = _terminal(terminal, title)
    key = next(k for k in shown if k == label or k.startswith(f"{label} "))
    row = shown[key]
    doc_label = md_label or label
    # the documents' tenant tables hold the second label (class, target) in a column of
    # its own; the terminal writes it under the name
    for document in (_markdown(md, title)[doc_label], _csv(table_csv, title)[doc_label]):
        assert {k: v for k, v in document.items() if k in row} == row, (title, label)
        assert set(document) - set(row) <= {"class", "target", "wants", "class, version"}
    return row


def _number(cell: str) -> float:
    match = re.search(r"-?[\d,]+(\.\d+)?", cell)
    assert match, cell
    return float(match.group().replace(",", ""))


def _check(row: dict[str, str], want: dict[str, float], rule: Callable[[float], str]) -> None:
    """Each cell is ``rule`` of the JSON's figure: the same shape (digits after the point,
    signs) and the same value within half of its last digit."""
    for name, x in want.items():
        cell, expected = row[name], rule(x)
        assert re.sub(r"[\d,]", "9", cell) == re.sub(r"[\d,]", "9", expected), (name, cell)
        digits = len(expected.split(".")[1].rstrip("×%")) if "." in expected else 0
        assert _number(cell) == pytest.approx(_number(expected), abs=0.5 * 10**-digits + 1e-9)


def _usd(x: float) -> str:
    # the one rule: whole dollars from $100 (and for $0), cents below
    return f"${x:,.0f}" if abs(x) >= 100 or x == 0 else f"${x:,.2f}"


def test_substrate_costs_are_the_cost_analysis_totals_everywhere() -> None:
    data = _outputs()[3]
    basis = data["substrates"][0]["cost"]["power_basis"]
    unit = f"USD / month, power at the {basis} load"
    row = _everywhere("Substrates (placement and capacity)", "cost", f"cost, {unit}")
    want = {s["name"]: s["cost"]["per_month_usd"]["total"] for s in data["substrates"]}
    _check(row, want, lambda x: f"{x:,.0f}")  # whole dollars, no sign: the unit says USD


def test_each_tenant_costs_the_same_everywhere() -> None:
    data = _outputs()[3]
    for i, t in enumerate(data["substrates"][0]["tenants"]):
        row = _everywhere("Cost per tenant, a month", t["name"])
        want = {
            s["name"]: s["cost"]["tenants"][i]["per_month_usd"]["total"] for s in data["substrates"]
        }
        _check(row, want, _usd)


def test_latency_is_written_one_way_everywhere() -> None:
    data = _outputs()[3]
    for i, t in enumerate(data["substrates"][0]["tenants"]):
        row = _everywhere("Latency p95 (× an idle host)", t["name"])
        want = {
            s["name"]: s["simulation"]["tenants"][i]["latency_inflation"]["p95"]
            for s in data["substrates"]
        }
        _check(row, want, lambda x: f"{x:.1f}×")  # one decimal, the sign after it
    parts = _everywhere(
        "The figures behind the scores", "performance: p95 latency (× an idle host)"
    )
    assert all(re.fullmatch(r"\d+\.\d×( \(worst \d+\.\d×\))?", c) for c in parts.values())


def test_tenant_exposure_is_the_same_everywhere() -> None:
    data = _outputs()[3]
    title = "Exposure: other tenants' escapes reaching the tenant, a year"
    for i, t in enumerate(data["substrates"][0]["tenants"]):
        row = _everywhere(title, t["name"])
        want = {
            s["name"]: s["isolation"]["tenants"][i]["exposure"]["incidents_per_year"]
            for s in data["substrates"]
        }
        _check(row, want, lambda x: f"{x:.2f}")


def test_scores_and_weight_ranges_are_the_decisions_everywhere() -> None:
    d = _outputs()[3]["decision"]
    for f in d["weights"]:
        row = _everywhere("Scores", f)
        want = {s["name"]: s["factors"][f]["score"] for s in d["substrates"]}
        _check(row, want, lambda x: f"{x:.0f}")
    total = _everywhere("Scores", "total")
    _check(total, {s["name"]: s["total"] for s in d["substrates"]}, lambda x: f"{x:.1f}")
    title = "Weights: the verdict holds while each weight stays in its range"
    for w in d["sensitivity"]["weights"]:
        row = _everywhere(title, w["factor"])
        # null: no flip up to the largest weight (1,000)
        assert row["up to"] == ("any" if w["high"] is None else f"{w['high']:.2f}")
        assert row["past it wins"] == (w["flips_to"] or "–")


def _every_table() -> list[Table]:
    """Every table the model declares for this run (report.tables, tables_decision)."""
    comparison, simulation, analysis, decision = _run()
    sc = comparison.scenario
    a = analysis.substrates
    costs = [x.cost for x in a if x.cost is not None]
    card = decision.scorecard
    assert decision.hybrid is not None and decision.sensitivity is not None
    return [
        *tables.placement_tables(comparison, costs),
        tables.placement_cost_table(comparison),
        *(t for part in tables.simulation_tables(simulation) for t in part),
        *tables.failure_tables([x.failures for x in a if x.failures is not None], sc),
        *tables.isolation_tables([x.isolation for x in a if x.isolation is not None], sc),
        *tables.lifecycle_tables([x.lifecycle for x in a if x.lifecycle is not None], sc),
        *tables.cost_tables(costs, sc),
        tables_decision.scores_table(card),
        tables_decision.figures_table(card),
        tables_decision.evidence_table(card),
        tables_decision.tenant_totals_table(card),
        tables_decision.hybrid_table(decision.hybrid),
        tables_decision.pareto_table(decision.pareto),
        *tables_decision.sensitivity_tables(decision.sensitivity),
    ]


def test_the_terminal_and_the_documents_show_only_the_models_tables() -> None:
    terminal = _outputs()[0].splitlines()
    # a table's title is the line above its top border
    shown = {terminal[i - 1] for i, line in enumerate(terminal) if line.startswith("┏")}
    declared = _every_table()
    # the placement's own cost per tenant is shown only without the cost analysis
    want = {t.title for t in declared if "terminal" in t.views and "no ops" not in t.title}
    assert shown == want
    documents = [t for s in report_sections(*_run()) for t in s.tables]
    assert {t.title for t in documents} == {
        t.title for t in declared if "document" in t.views and "no ops" not in t.title
    }
    # each document table is the declared one, cell for cell
    by_title = {t.title: t for t in declared}
    assert all(t == by_title[t.title] for t in documents)
