"""``underlay sweep --report``: the sweep, then its report from the results file; a report
path that cannot be written is refused before any point runs."""

from __future__ import annotations

from pathlib import Path

from sweep_cases import tiny_scenario
from typer.testing import CliRunner

from underlay.cli import app

runner = CliRunner()


def test_sweep_writes_its_report_from_the_results_file(tmp_path: Path) -> None:
    scenario = tiny_scenario(tmp_path)
    grid = tmp_path / "grid.yaml"
    grid.write_text("weights.cost: [1, 4]\nweights.isolation: [1, 3]\n")
    db, out = tmp_path / "sweep.duckdb", tmp_path / "sweep.html"
    args = ["sweep", str(scenario), "--grid", str(grid), "--db", str(db), "--workers", "1"]
    result = runner.invoke(app, [*args, "--report", str(out)])
    assert result.exit_code == 0, result.output
    assert f"Wrote {out}" in result.stderr
    page = out.read_text(encoding="utf-8")
    assert 'id="winner-0"' in page and 'id="pd-1"' in page
    assert "Sweep 1: 4 points over weights.cost, weights.isolation" in page
    # the same report again from the file alone: the same page
    again = tmp_path / "again.html"
    result = runner.invoke(app, ["results", str(db), "--report", "1", "--output", str(again)])
    assert result.exit_code == 0, result.output
    assert again.read_text(encoding="utf-8") == page


def test_a_report_that_cannot_be_written_is_refused_before_the_sweep(tmp_path: Path) -> None:
    scenario = tiny_scenario(tmp_path)
    grid = tmp_path / "grid.yaml"
    grid.write_text("seed: [0, 1]\n")
    db = tmp_path / "sweep.duckdb"
    args = ["sweep", str(scenario), "--grid", str(grid), "--db", str(db), "--workers", "1"]
    for target, message in [
        (tmp_path / "none" / "r.html", "folder"),
        (grid, "that is the grid file"),
    ]:
        result = runner.invoke(app, [*args, "--report", str(target)], env={"COLUMNS": "200"})
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith("Error: --report ") and message in result.stderr
    assert not db.exists()  # no point ran
