"""``underlay sweep`` (a grid of comparisons into a DuckDB file) and ``underlay results``
(what such a file holds: sweeps, runs, one run, two runs side by side, SQL, exports).

The sweep shows a progress bar with its ETA on a terminal's stderr; elsewhere (a pipe, a
CI log) one line per committed point, so a log says how far it got.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from underlay.cli.app import app
from underlay.cli.help import Command
from underlay.cli.options import AllowPathsOpt, ScenarioArg
from underlay.cli.output import console_for, err, fail, note
from underlay.errors import InputError, UnderlayError

__all__ = ["results", "sweep"]

DbOpt = Annotated[
    Path, typer.Option("--db", metavar="FILE", help="the DuckDB results file (made if absent)")
]


@app.command(cls=Command)
def sweep(
    scenario: ScenarioArg,
    grid: Annotated[
        Path,
        typer.Option(
            "--grid", metavar="FILE", help="YAML: dotted scenario path (or seed) → list of values"
        ),
    ],
    db: DbOpt = Path("sweep.duckdb"),
    workers: Annotated[
        int | None,
        typer.Option(metavar="N", help="local processes (default: one per core; 1: this one)"),
    ] = None,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            metavar="ADDRESS",
            help="run on the Ray cluster at ADDRESS ('local': start one here)",
        ),
    ] = None,
    sample: Annotated[
        str | None,
        typer.Option(
            metavar="METHOD", help="draw points instead of every combination: random, lhs"
        ),
    ] = None,
    points: Annotated[int | None, typer.Option(metavar="N", help="points a sample draws")] = None,
    seed: Annotated[int, typer.Option(metavar="SEED", help="the sample's seed")] = 0,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report", metavar="FILE", help="then write the sweep report (HTML) from --db"
        ),
    ] = None,
    allow_paths: AllowPathsOpt = False,
) -> None:
    """Compare a scenario over a grid of values, into a DuckDB file.

    Each point is a full comparison (placement, replay, analyses, verdict), committed to
    --db as it ends: run the same command again to resume an interrupted sweep."""
    from underlay.sweeps.run import SweepSpec, run_sweep

    if (sample is None) != (points is None):
        raise fail(InputError("--sample and --points go together (--sample lhs --points 50)"))
    spec = SweepSpec(scenario, grid, db, workers, ray, sample, points, seed, allow_paths)
    try:
        if report is not None:  # refused before the sweep, not after an hour of it
            _check_report(
                "--report", report, [("scenario", scenario), ("grid", grid), ("results", db)]
            )
        if err.is_terminal:
            summary = _with_bar(spec, run_sweep)
        else:
            summary = run_sweep(
                spec,
                on_start=lambda n, done: note(f"{n} points, {done} already in {db}"),
                on_point=lambda r: note(
                    f"point {r.index} {'failed: ' + r.error if r.error else 'done'} "
                    f"({r.seconds:.1f} s)"
                ),
            )
        failed = f", {summary.failed} failed (see runs.error)" if summary.failed else ""
        note(
            f"Sweep {summary.sweep_id}: {summary.points} points, {summary.ran} run now, "
            f"{summary.already} resumed from {db}{failed}. See: underlay results {db}"
        )
        if report is not None:
            _write_report(db, summary.sweep_id, report)
    except UnderlayError as exc:
        raise fail(exc) from None


def _check_report(flag: str, path: Path, inputs: list[tuple[str, Path]]) -> None:
    from underlay.files import refuse_overwrite

    refuse_overwrite(flag, path, inputs)
    if not path.parent.is_dir():
        raise InputError(f"{flag} {path}: folder {path.parent} does not exist")


def _write_report(db: Path, sweep_id: int, path: Path) -> None:
    from underlay.files import write_atomically
    from underlay.report.sweep_html import sweep_report

    write_atomically(path, sweep_report(db, sweep_id))
    note(f"Wrote {path}")


def _with_bar(spec: Any, run_sweep: Any) -> Any:
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("validating points", total=None)

        def start(total: int, done: int) -> None:
            # reset: the ETA counts only the points this run does, not those resumed
            bar.reset(task, description="sweeping", total=total, completed=done)

        return run_sweep(spec, on_start=start, on_point=lambda r: bar.advance(task, 1))


@app.command(cls=Command)
def results(
    db: Annotated[Path, typer.Argument(help="a DuckDB results file (sweep or compare --db)")],
    run: Annotated[
        list[int] | None,
        typer.Option("--run", metavar="ID", help="show this run; twice: compare two runs"),
    ] = None,
    sweep_id: Annotated[
        int | None, typer.Option("--sweep", metavar="ID", help="show this sweep's points")
    ] = None,
    sql: Annotated[str | None, typer.Option("--sql", metavar="QUERY", help="run SQL")] = None,
    csv: Annotated[
        Path | None, typer.Option("--csv", metavar="FILE", help="export --sql (or results) as CSV")
    ] = None,
    parquet: Annotated[
        Path | None,
        typer.Option("--parquet", metavar="FILE", help="export --sql (or results) as Parquet"),
    ] = None,
    report: Annotated[
        int | None,
        typer.Option("--report", metavar="ID", help="write this sweep's HTML report (--output)"),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", metavar="FILE", help="where --report goes")
    ] = None,
) -> None:
    """List, show, compare, query or export stored runs.

    Tables: sweeps, runs, results (one row per run × substrate × tenant); their columns:
    underlay docs results."""
    from underlay.report.results_db import ResultsDB

    try:
        if report is not None or output is not None:
            if report is None or output is None:
                raise InputError("--report ID and --output FILE go together")
            _check_report("--output", output, [("results", db)])
            _write_report(db, report, output)
            return
        with ResultsDB(db, read_only=True) as store:
            if csv is not None or parquet is not None:
                query = sql or "SELECT * FROM results ORDER BY run_id, substrate, tenant"
                for path, fmt in ((csv, "csv"), (parquet, "parquet")):
                    if path is not None:
                        _check_target(path, db)
                        store.export(query, path, fmt)
                        note(f"Wrote {path}")
                return
            if sql is not None:
                _print(store.query(sql))
            elif run:
                _show_runs(store, run)
            elif sweep_id is not None:
                _show_sweep(store, sweep_id)
            else:
                _list(store)
    except UnderlayError as exc:
        raise fail(exc) from None


def _check_target(path: Path, db: Path) -> None:
    from underlay.files import refuse_overwrite

    refuse_overwrite("--csv" if path.suffix != ".parquet" else "--parquet", path, [("results", db)])
    if not path.parent.is_dir():
        raise InputError(f"{path}: folder {path.parent} does not exist")


def _print(result: tuple[list[str], list[tuple[Any, ...]]], title: str | None = None) -> None:
    columns, rows = result
    table = Table(*columns, title=title, title_justify="left")
    for row in rows:
        table.add_row(
            *("" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v) for v in row)
        )
    console_for(None, None).print(table)


def _list(store: Any) -> None:
    _print(
        store.query(
            "SELECT s.sweep_id, s.scenario, s.grid_path, s.sample, s.points, "
            "count(r.run_id) AS finished, count(r.error) AS failed, s.created_at "
            "FROM sweeps s LEFT JOIN runs r USING (sweep_id) GROUP BY ALL ORDER BY s.sweep_id"
        ),
        title="Sweeps",
    )
    _print(
        store.query(
            "SELECT run_id, sweep_id, point, scenario, winner, margin, status, finished_at "
            "FROM runs WHERE sweep_id IS NULL ORDER BY run_id"
        ),
        title="Single runs (compare --db)",
    )


def _show_sweep(store: Any, sweep_id: int) -> None:
    _, rows = store.query("SELECT parameters FROM sweeps WHERE sweep_id = ?", [sweep_id])
    if not rows:
        raise InputError(f"--sweep {sweep_id}: no such sweep (underlay results FILE lists them)")
    keys = json.loads(rows[0][0])
    _, runs = store.query(
        "SELECT run_id, point, parameters, winner, runner_up, margin, status, seconds "
        "FROM runs WHERE sweep_id = ? ORDER BY point",
        [sweep_id],
    )
    shown = [(r[0], r[1], *(json.loads(r[2]).get(k) for k in keys), *r[3:]) for r in runs]
    columns = ["run", "point", *keys, "winner", "runner-up", "margin", "status", "seconds"]
    _print((columns, shown), title=f"Sweep {sweep_id}")


_SHOWN = (
    "substrate_score_total",
    "substrate_cost_per_month_usd_total",
    "substrate_hosts_total",
    "cost_per_month_usd_total",
    "sim_sla_attainment_percent",
    "failures_availability_mean",
    "isolation_violations",
    "lifecycle_forced_upgrades",
    "score_total",
)


def _show_runs(store: Any, runs: list[int]) -> None:
    if len(runs) > 2:
        raise InputError("--run: give one run to show, or two to compare")
    for run_id in runs:
        _, found = store.query("SELECT 1 FROM runs WHERE run_id = ?", [run_id])
        if not found:
            raise InputError(f"--run {run_id}: no such run (underlay results FILE lists them)")
    _print(
        store.query(
            "SELECT run_id, sweep_id, point, scenario, parameters, winner, runner_up, margin, "
            f"status, error FROM runs WHERE run_id IN ({', '.join('?' for _ in runs)}) "
            "ORDER BY run_id",
            runs,
        ),
        title="Runs",
    )
    shown = [f for f in _SHOWN if f in store.columns]  # a run without analyses has fewer
    figures = ", ".join(["substrate", "tenant", *shown])
    if len(runs) == 1:
        _print(
            store.query(
                f"SELECT {figures} FROM results WHERE run_id = ? ORDER BY rowid",
                runs,
            ),
            title=f"Run {runs[0]}",
        )
        return
    # Two runs: one line per substrate × tenant × figure, each run's value and the change.
    a, b = ({(r[0], r[1]): r[2:] for r in _figures(store, run_id, figures)} for run_id in runs)
    lines = []
    for key in sorted(a.keys() | b.keys()):
        for k, figure in enumerate(shown):
            va = a[key][k] if key in a else None
            vb = b[key][k] if key in b else None
            change = vb - va if isinstance(va, float) and isinstance(vb, float) else None
            lines.append((*key, figure, va, vb, change))
    columns = ["substrate", "tenant", "figure", f"run {runs[0]}", f"run {runs[1]}", "change"]
    _print((columns, lines), title=f"Run {runs[0]} and run {runs[1]}")


def _figures(store: Any, run_id: int, figures: str) -> list[tuple[Any, ...]]:
    return list(store.query(f"SELECT {figures} FROM results WHERE run_id = ?", [run_id])[1])
