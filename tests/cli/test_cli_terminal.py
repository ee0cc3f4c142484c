"""The terminal output end to end (issue 10): it reads at any width, and shows one cost
per substrate.

Every command that prints tables runs on every bundled example at ``--width 80`` and
``--width 120``: no line is wider, and every substrate's and tenant's name (taken from
the JSON output) appears whole, never folded over two lines (``baremetal-dedica`` /
``ted``) or cropped (``baremetal…``). Without ``--width`` and without a terminal the
tables are laid out for $COLUMNS, else 100 columns.

The substrate table, the per-tenant table and the Cost table show the same cost per
substrate and tenant, the cost analysis's (power at the simulated load), as the JSON
says; without the cost analysis the substrate table shows the placement's estimate,
labelled "power at requests".
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from typer.testing import CliRunner

from factories import scenario_yaml
from underlay.cli import app

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))
COMMANDS = ("compare", "simulate", "analyse", "recommend")
WIDTHS = (80, 120)
TRIALS = ("--trials", "200")  # fewer failure years than the examples ask: faster, same layout
runner = CliRunner()


def _invoke(*args: object, env: dict[str, str] | None = None) -> str:
    result = runner.invoke(app, [str(a) for a in args], env=env)
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return result.stdout


@cache
def _output(example: Path, command: str, width: int, plan_dir: Path) -> str:
    extra: tuple[object, ...] = TRIALS if command != "simulate" else ()
    if command == "recommend":
        extra += ("--plan", plan_dir / f"{example.stem}-{width}.plan.yaml")
    return _invoke(command, example, "--width", width, *extra)


@cache
def _json(example: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_invoke("compare", example, "--json", *TRIALS))
    return data


@pytest.fixture(scope="module")
def plan_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("plans")


def _tokens(line: str) -> list[str]:
    return [t.strip("(),;:.'\"") for t in re.split(r"[\s│┃]+", line) if t]


def _broken_names(text: str, names: list[str]) -> list[str]:
    """Lines where a name is cut: a part ending in "…", or a part whose rest is on the
    next line (rendered right- or left-justified, so anywhere on it)."""
    lines = text.splitlines()
    broken = []
    for i, line in enumerate(lines):
        following = set(_tokens(lines[i + 1])) if i + 1 < len(lines) else set()
        for token in _tokens(line):
            stem = token.rstrip("…")
            if not stem or token in names:
                continue
            for name in names:
                if name.startswith(stem) and (
                    token.endswith("…") or name[len(stem) :] in following
                ):
                    broken.append(f"line {i + 1}: {token!r} of {name!r}: {line}")
    return broken


def _names(example: Path) -> tuple[list[str], list[str]]:
    data = _json(example)
    substrates = [s["name"] for s in data["substrates"]]
    tenants = [t["name"] for t in data["substrates"][0]["tenants"]]
    return substrates, tenants


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_every_line_fits_and_every_name_is_whole(
    example: Path, command: str, width: int, plan_dir: Path
) -> None:
    out = _output(example, command, width, plan_dir)
    too_wide = [line for line in out.splitlines() if cell_len(line) > width]
    assert not too_wide, too_wide[:3]
    substrates, tenants = _names(example)
    names = substrates + tenants
    assert not _broken_names(out, names)
    flat = set(_tokens(out))
    for name in substrates:  # every command names every substrate
        assert name in flat, name
    if command != "simulate" or "Tenants over time" in out:
        for name in tenants:
            assert name in flat, name


def test_the_checker_finds_the_names_broken_as_the_issue_showed() -> None:
    names = ["baremetal-dedicated", "vm"]
    assert _broken_names("│ baremetal-dedica │\n│              ted │", names)
    assert _broken_names("┃ baremetal… ┃ vm ┃", names)
    assert not _broken_names("│ baremetal-dedicated │ vm │\n│ of bare │ metal │", names)


def test_without_a_terminal_the_width_is_columns_else_100(write_yaml: Any) -> None:
    # eight substrates with long names: side by side they are wider than any console
    substrates = [
        {"kind": "baremetal-shared", "name": f"shared-cluster-number-{i}"} for i in range(8)
    ]
    path = write_yaml(scenario_yaml(substrates=substrates))
    for env, width in (({"COLUMNS": ""}, 100), ({"COLUMNS": "90"}, 90), ({"COLUMNS": "150"}, 150)):
        out = _invoke("compare", path, "--no-analyse", "--no-simulate", env=env)
        widest = max(cell_len(line) for line in out.splitlines())
        # split into parts, each as wide as fits: a substrate (25) short of the width at most
        assert width - 25 < widest <= width, (env, widest)
    out = _invoke("compare", path, "--no-analyse", "--no-simulate", "--width", 70)
    assert 70 - 25 < max(cell_len(line) for line in out.splitlines()) <= 70


@pytest.mark.parametrize("width", [0, 39, 1001])
def test_a_width_out_of_range_is_a_usage_error(width: int, write_yaml: Any) -> None:
    result = runner.invoke(
        app, ["compare", str(write_yaml(scenario_yaml())), "--width", str(width)]
    )
    assert result.exit_code == 2
    assert result.stderr.strip() == f"Error: --width: must be from 40 to 1,000 columns, got {width}"


# ------------------------------------------------------------------------ one cost


def _rows(text: str, title: str, label: str) -> tuple[str, dict[str, str]]:
    """The whole label and {column header: cell} (first lines) of the row whose label
    starts with the words ``label``, in the tables whose title starts with ``title`` (every
    part of a split table)."""
    found: dict[str, str] = {}
    whole = ""
    current, previous = "", ""
    headers: list[str] = []
    following = False  # on the lines of a found row's label
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("│").split("│")]
        if line.startswith("┏"):
            current = previous
        elif line.startswith("┃"):
            headers = [c.strip() for c in line.strip("┃").split("┃")][1:]
        elif line.startswith("│") and current.startswith(title):
            if cells[0] == label or cells[0].startswith(f"{label} "):
                found.update(zip(headers, cells[1:], strict=True))
                whole, following = cells[0], True
                continue
            if following and cells[0] and not any(cells[1:]):
                whole += " " + cells[0]
                continue
        following = False
        previous = line
    return whole, found


def _usd(cell: str) -> float:
    match = re.match(r"\$?([\d,]+)", cell)
    assert match, cell
    return float(match.group(1).replace(",", ""))


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_one_cost_per_substrate_and_tenant(example: Path, width: int, plan_dir: Path) -> None:
    out = _output(example, "compare", width, plan_dir)
    data = _json(example)
    basis = {s["cost"]["power_basis"] for s in data["substrates"]}
    assert len(basis) == 1
    label, substrate_row = _rows(out, "Substrates", "cost USD")
    assert label == f"cost USD / month, power at the {basis.pop()} load"
    _, cost_row = _rows(out, "Cost", "total USD")
    differ = 0
    for s in data["substrates"]:
        total = s["cost"]["per_month_usd"]["total"]  # what the decision uses
        estimate = s["cost_per_month_usd"]["total"]  # power at the requested load
        for row in (substrate_row, cost_row):
            assert abs(_usd(row[s["name"]]) - total) <= 0.51, (s["name"], row, total)
        differ += abs(estimate - total) >= 1
        for t, tc in zip(s["tenants"], s["cost"]["tenants"], strict=True):
            cell = _rows(out, "Cost per tenant, a month", t["name"])[1][s["name"]]
            assert abs(_usd(cell) - tc["per_month_usd"]["total"]) <= 0.51, (t["name"], cell)
    assert differ  # else the estimate could be shown and the test would not see it


def test_without_the_cost_analysis_the_estimate_is_labelled(plan_dir: Path) -> None:
    example = REPO / "examples" / "saas-platform.yaml"
    out = _invoke("compare", example, "--no-analyse", "--no-simulate", "--width", 120)
    data = json.loads(_invoke("compare", example, "--no-analyse", "--no-simulate", "--json"))
    label, row = _rows(out, "Substrates", "cost USD")
    assert label == "cost USD / month, no ops, power at allocation"
    for s in data["substrates"]:
        assert abs(_usd(row[s["name"]]) - s["cost_per_month_usd"]["total"]) <= 0.51
        # each tenant's cost, the same estimate, in the table so titled
        for t in s["tenants"]:
            title = "Cost per tenant (USD / month, no ops, power at allocation)"
            cell = _rows(out, title, t["name"])[1][s["name"]]
            assert abs(_usd(cell) - t["cost_per_month_usd"]) <= 0.51, (t["name"], cell)
