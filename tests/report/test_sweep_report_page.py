"""The sweep report as a page: written by ``underlay results DB --report`` (and
``underlay sweep --report``), opened in headless Chromium (as in test_html_report): it
draws every figure, logs no error, requests nothing but itself, and its winner heat
map's cells are the verdicts stored in the results file. Bad requests give one message
and exit code 2, and no file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from sweep_db_cases import make_sweep
from test_html_report import ARGS, CHROMIUM, Visit, _keep, _open
from typer.testing import CliRunner

from underlay.cli import app

runner = CliRunner()

# 3 costs × 2 prices; the scores make the verdict flip along both keys
POINTS = [
    ({"weights.cost": c, "price": p}, {"dedicated": 50 + 15 * c - p, "vm": 40 + p / 2})
    for c in (1, 2, 3)
    for p in (10, 30)
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless (skips without it)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (CI installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


def _report(tmp_path: Path) -> tuple[Path, Path]:
    db = tmp_path / "sweep.duckdb"
    sweep_id = make_sweep(db, ["weights.cost", "price"], POINTS)
    out = tmp_path / "sweep.html"
    result = runner.invoke(
        app, ["results", str(db), "--report", str(sweep_id), "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    return db, out


def test_the_heat_map_shows_the_stored_verdicts(browser: Any, tmp_path: Path) -> None:
    db, path = _report(tmp_path)
    with duckdb.connect(str(db), read_only=True) as con:
        runs = con.execute("SELECT parameters, winner FROM runs ORDER BY point").fetchall()
    substrates = ["dedicated", "vm"]  # the order the scenario (each document) lists them
    # rows: price 10, 30 (y); columns: cost 1, 2, 3 (x)
    expected = [[-1] * 3 for _ in range(2)]
    for params, winner in runs:
        p = json.loads(params)
        expected[[10, 30].index(p["price"])][[1, 2, 3].index(p["weights.cost"])] = substrates.index(
            winner
        )
    assert {w for row in expected for w in row} == {0, 1}  # both win somewhere
    visit = Visit()
    page = _open(browser, path, visit)
    try:
        assert visit.console_errors == [] and visit.page_errors == []
        assert visit.requests == [path.as_uri()]
        ids = page.eval_on_selector_all(".plot", "els => els.map(e => e.id)")
        assert ids == ["winner-0", "margin-0", "pd-0", "pd-1"]
        drawn = page.eval_on_selector_all(
            ".plot", "els => els.map(e => e.querySelectorAll('.main-svg').length > 0)"
        )
        assert drawn == [True] * 4
        heat = page.eval_on_selector(
            "#winner-0", "el => [el.data[0].z, el.data[0].x, el.data[0].y, el.data[0].text]"
        )
        assert heat[0] == expected
        assert heat[1] == ["1", "2", "3"] and heat[2] == ["10", "30"]
        assert heat[3] == [[substrates[w] for w in row] for row in expected]
        # the flip table: one row per neighbouring pair with different winners
        rows = page.eval_on_selector_all("#flip-table tbody tr", "els => els.length")
        flips = sum(expected[r][c] != expected[r][c + 1] for r in range(2) for c in range(2)) + sum(
            expected[0][c] != expected[1][c] for c in range(3)
        )
        assert rows == flips > 0
        _keep(page, path, "sweep-report")
    finally:
        page.close()


def test_names_stay_text_in_the_page(browser: Any, tmp_path: Path) -> None:
    db = tmp_path / "sweep.duckdb"
    name = "<script>alert(1)</script>"
    pts = [({"k": k}, {name: float(k), "vm": 1.5}) for k in (1, 2)]
    sweep_id = make_sweep(db, ["k"], pts)
    out = tmp_path / "x.html"
    result = runner.invoke(app, ["results", str(db), "--report", str(sweep_id), "-o", str(out)])
    assert result.exit_code == 0, result.output
    visit = Visit()
    page = _open(browser, out, visit)
    try:
        assert visit.dialogs == [] and visit.page_errors == []
        assert name in page.inner_text("#wins")
    finally:
        page.close()


def test_bad_report_requests_exit_2_without_a_file(tmp_path: Path) -> None:
    db = tmp_path / "sweep.duckdb"
    make_sweep(db, ["a"], [({"a": 1}, {"A": 1.0})])
    out = tmp_path / "x.html"
    cases = [
        (["--report", "9", "--output", str(out)], "--report 9: no such sweep"),
        (["--report", "1"], "--report ID and --output FILE go together"),
        (["--report", "1", "--output", str(db)], "that is the results file"),
        (["--report", "1", "--output", str(tmp_path / "no" / "x.html")], "does not exist"),
    ]
    for args, message in cases:
        result = runner.invoke(app, ["results", str(db), *args], env={"COLUMNS": "200"})
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith("Error: ") and message in result.stderr, result.stderr
        assert "Traceback" not in result.output
    assert not out.exists() and list(tmp_path.iterdir()) == [db]
