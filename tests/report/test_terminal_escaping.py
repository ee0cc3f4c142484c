"""Names from user input are shown literally by the terminal report (issue 5).

Tenants are free text, so a tenant may be called ``[red]boom[/red]`` or ``[/bold]``. The
terminal report must print such names as written: no markup applied, no MarkupError, no
emoji. Besides the names of the issue, ``HARD`` holds names that ``rich.markup.escape``
applied name by name gets wrong: ``[b`` and ``c]`` on one line make a tag between them, a
trailing backslash is shown twice, and ``:thumbs_up:`` is an emoji code.

The pipeline runs once per module; the report is rendered at 400 columns, so no cell
wraps and every name can be searched for as written.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Span
from typer.testing import CliRunner

from factories import make_tenant, make_workload, scenario_yaml
from underlay.cli import app
from underlay.model.loading import load_scenario
from underlay.model.scenario import cluster_name_for
from underlay.pipeline import Analysis, Comparison, Simulation, analyse, compare, simulate
from underlay.report.terminal import (
    markup_line,
    render_analysis,
    render_comparison,
    render_simulation,
)

NAMES = ["<script>alert(1)</script>", "[red]boom[/red]", "ACME | Corp", 'Team "Payments"', "x]"]
HARD = ["[b", "c]", "back\\slash\\", ":thumbs_up:", "[/bold]"]
ALL = NAMES + HARD
runner = CliRunner()


def _scenario_text(inventory: int | None = None) -> str:
    """Every tenant untrusted on one shared kernel (violations, who hurt whom), bursting,
    with a budget that blocks every drain; ``x]`` also asks for a pod nothing can hold."""
    usage = {"cpu": 0.6, "noise": 0.3, "burst_probability": 0.2, "burst_factor": 4}
    workload = make_workload(
        "web", replicas=3, cpu="2", memory="2Gi", limits={"cpu": "8", "memory": "2Gi"},
        usage=usage, disruption_budget={"min_available": 3},
    )  # fmt: skip
    cp = {"control_plane": "dedicated"} if inventory else {}  # 3 whole hosts each
    tenants = [make_tenant(n, isolation="untrusted", workloads=[workload], **cp) for n in ALL]
    tenants[ALL.index("x]")]["workloads"].append(make_workload("huge", cpu="200"))
    hardware = {"inventory": [{"model": "std", "count": inventory}]} if inventory else {}
    return scenario_yaml(tenants=tenants, simulation={"horizon_hours": 6}, hardware=hardware)


@pytest.fixture(scope="module")
def scenario_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("names") / "names.yaml"
    path.write_text(_scenario_text(), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def runs(scenario_path: Path) -> tuple[Comparison, Simulation, Analysis]:
    sc = load_scenario(scenario_path)
    result = compare(sc)
    sim = simulate(sc, comparison=result)
    return result, sim, analyse(result, sim)


def _render(runs: tuple[Comparison, Simulation, Analysis], **console: Any) -> str:
    con = Console(file=io.StringIO(), width=400, **console)
    result, sim, analysis = runs
    render_comparison(result, con, max_tenants=None)
    render_simulation(sim, con, max_tenants=None)
    render_analysis(analysis, con, max_tenants=None)
    text: str = con.file.getvalue()  # type: ignore[attr-defined]
    return text


@pytest.fixture(scope="module")
def text(runs: tuple[Comparison, Simulation, Analysis]) -> str:
    return _render(runs, color_system=None)


@pytest.fixture(scope="module")
def lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


# ---------------------------------------------------------------- the pipeline runs


def test_the_names_load_and_run_through_every_stage(
    runs: tuple[Comparison, Simulation, Analysis],
) -> None:
    result, sim, analysis = runs
    assert [t.name for t in result.scenario.tenants] == ALL
    assert [c.name for t in result.scenario.tenants for c in t.clusters] == [
        cluster_name_for(n) for n in ALL
    ]
    for static, simulated, analysed in zip(
        result.substrates, sim.results, analysis.substrates, strict=True
    ):
        assert [t.name for t in static.tenants] == ALL
        assert [t.name for t in simulated.tenants] == ALL
        for part in (analysed.isolation, analysed.failures, analysed.lifecycle, analysed.cost):
            assert part is not None and [t.name for t in part.tenants] == ALL


# -------------------------------------------------------- the terminal, name by name


def test_every_tenant_row_starts_with_its_name_as_written(lines: list[str]) -> None:
    # The tenant tables the terminal shows (report.tables, view "terminal"): hosts touched
    # and the placement's cost estimate (render_comparison is given no cost analysis);
    # latency, CPU SLA and unmet CPU (simulation); exposure (isolation); availability SLA
    # (failures); version at the end (lifecycle); cost a month and per SLA-met pod-hour.
    for name in ALL:
        rows = [line for line in lines if line.startswith(f"│ {name} ")]
        assert len(rows) == 2 + 3 + 1 + 1 + 1 + 2, (name, rows)


def test_violations_and_who_hurt_whom_show_the_names(
    runs: tuple[Comparison, Simulation, Analysis], lines: list[str]
) -> None:
    _, sim, analysis = runs
    shared = next(a.isolation for a in analysis.substrates if a.name == "baremetal-shared")
    assert shared is not None and len(shared.violations) == 45  # 10 untrusted tenants: 10·9/2
    for v in shared.violations[:10]:
        expected = (
            f"violation on baremetal-shared: {v.tenant} (untrusted) shares 1 kernel with "
            f"{v.other} (untrusted) (rule 2: untrusted and untrusted never share a kernel)"
        )
        assert expected in lines
    assert "  … and 35 more on baremetal-shared (--json)" in lines
    hurt = 0
    for r in sim.results:
        pairs = r.who_hurt_whom(ALL)
        if pairs:
            hurt += 1
            told = "; ".join(f"{c} took {h:,.1f} core-h from {v}" for v, c, h in pairs)
            assert f"who hurt whom on {r.name}: {told}" in lines
    assert hurt  # the scenario makes tenants hurt each other somewhere


def test_unplaced_rows_and_blocked_drains_show_the_names(lines: list[str]) -> None:
    unplaced = [line for line in lines if line.startswith("  x]/x/huge: 1 pod — ")]
    assert len(unplaced) == 4  # one per substrate
    tail = "/web (its disruption budget allows no pod down)"
    drains = [line for line in lines if line.startswith("blocked drain on ")]
    assert drains and all(d.endswith(tail) for d in drains)
    shown = {d.split(": ", 1)[1].removesuffix(tail) for d in drains}  # tenant/cluster
    assert shown <= {f"{n}/{cluster_name_for(n)}" for n in ALL}  # at most 5 a substrate


def test_notes_that_quote_names_show_them(tmp_path: Path) -> None:
    # Four hosts: dedicated control planes (3 hosts each) run out, and the notes name
    # each tenant's cluster as tenant/cluster.
    path = tmp_path / "small.yaml"
    path.write_text(_scenario_text(inventory=4), encoding="utf-8")
    result = compare(load_scenario(path), substrates=["baremetal-dedicated"])
    con = Console(file=io.StringIO(), width=400, color_system=None)
    render_comparison(result, con)
    out = con.file.getvalue()  # type: ignore[attr-defined]
    quoted = re.findall(r"note \(baremetal-dedicated\): control plane of (.+): needs 3", out)
    assert quoted
    assert set(quoted) <= {f"{n}/{cluster_name_for(n)}" for n in ALL}
    assert "[red]boom[/red]/red-boom-red" in quoted


def test_each_name_appears_literally_and_no_markup_or_emoji_is_applied(text: str) -> None:
    for name in ALL:
        assert name in text, name
    assert "👍" not in text  # :thumbs_up: stays a name
    assert "back\\slash\\\\" not in text  # the trailing backslash is not doubled


def test_colour_output_has_the_same_text_and_applies_no_name_as_style(
    runs: tuple[Comparison, Simulation, Analysis], text: str
) -> None:
    coloured = _render(runs, color_system="truecolor", force_terminal=True)
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == text
    assert "\x1b[31mboom" not in coloured  # "[red]" was not read as a style


# ---------------------------------------------------------------------- markup_line


@pytest.mark.parametrize(
    ("template", "values", "plain", "spans"),
    [
        # A slot inside a tag takes the tag's style over the whole value.
        ("[bold]{}[/bold] — {} tenants", ("[red]x", 3), "[red]x — 3 tenants", [(0, 6, "bold")]),
        # A tag that ends at a slot stops before the value; one after it moves right.
        ("[dim]a[/dim]{}[dim]b[/dim]", ("[/dim]",), "a[/dim]b", [(0, 1, "dim"), (7, 8, "dim")]),
        # Two values that would make a tag together stay text.
        ("{} took 1 from {}", ("[b", "c]"), "[b took 1 from c]", []),
        # A trailing backslash is shown once; emoji codes stay text.
        ("[bold]{}[/bold] {}", ("a\\", ":smile:"), "a\\ :smile:", [(0, 2, "bold")]),
        ("no slots", (), "no slots", []),
    ],
)
def test_markup_line_fills_slots_with_plain_text(
    template: str, values: tuple[object, ...], plain: str, spans: list[tuple[int, int, str]]
) -> None:
    line = markup_line(template, *values)
    assert line.plain == plain
    assert line.spans == [Span(*s) for s in spans]


def test_markup_line_refuses_a_wrong_number_of_values() -> None:
    with pytest.raises(ValueError, match="2 slots for 1 values"):
        markup_line("{} and {}", "a")


# Markup's own characters often, so tags, closing tags and backslashes come up.
_TEXT = st.text(
    st.sampled_from("[]/\\:@#=bold ") | st.characters(exclude_categories=("Cc", "Cs")),
    max_size=30,
)


@given(_TEXT, _TEXT, _TEXT)
def test_markup_line_shows_any_values_as_written(a: str, b: str, c: str) -> None:
    line = markup_line("[bold]{}[/bold]: {} [dim]({})[/dim]", a, b, c)
    assert line.plain == f"{a}: {b} ({c})"
    bold, dim = len(a), len(f"{a}: {b} ")
    # As Rich parses "[bold][/bold]", an empty value keeps an empty span.
    assert line.spans == [Span(0, bold, "bold"), Span(dim, dim + len(c) + 2, "dim")]


# ------------------------------------------------------------------------------ CLI


def _invoke(*args: object) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.stdout + result.stderr
    assert "Internal error" not in result.stderr
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def cli_json(scenario_path: Path) -> Iterator[dict[str, Any]]:
    code, stdout, stderr = _invoke("compare", scenario_path, "--json")
    assert code == 0, stderr
    yield json.loads(stdout)


@pytest.mark.parametrize("verb", ["compare", "simulate", "analyze"])
def test_the_cli_prints_the_names_literally(verb: str, scenario_path: Path, tmp_path: Path) -> None:
    # -o renders at 160 columns: the tenant column is wide enough for these names.
    out = tmp_path / "report.txt"
    code, _, stderr = _invoke(verb, scenario_path, "--all-tenants", "-o", out)
    assert code == 0, stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    first_cells = [line.split("│")[1].strip() for line in lines if line.startswith("│ ")]
    for name in NAMES:
        assert name in first_cells, name
    if verb != "simulate":
        flat = " ".join(" ".join(lines).split())
        for name in NAMES:
            assert f"with {name} (untrusted)" in flat or f": {name} (untrusted)" in flat, name


def test_json_round_trips_the_names_exactly(cli_json: dict[str, Any]) -> None:
    for s in cli_json["substrates"]:
        assert [t["name"] for t in s["tenants"]] == ALL
        assert [t["name"] for t in s["simulation"]["tenants"]] == ALL
        for pair in s["simulation"]["who_hurt_whom"]:
            assert {pair["victim"], pair["culprit"]} <= set(ALL)
        for u in s["unplaced"]:
            assert u["tenant"] == "x]" and u["cluster"] == "x"


def test_the_cli_refuses_bad_names_naming_the_field(tmp_path: Path) -> None:
    for name, problem in (("a\tb", "contains a control character"), ("   ", "only spaces")):
        path = tmp_path / "bad.yaml"
        path.write_text(scenario_yaml(tenants=[make_tenant("ok"), make_tenant(name)]))
        code, _, stderr = _invoke("compare", path)
        assert code == 2
        flat = " ".join(stderr.split())
        assert "tenants[1].name: " in flat and problem in flat
