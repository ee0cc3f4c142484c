"""Where a run's results go, and through which renderer: the HTML and Markdown reports
and the plan to their files, then the JSON or the terminal tables to stdout (or
``--output``).

The terminal shows, in order: the verdict line, the substrate table (``compare``), the
simulation's summary, the analyses, the decision; ``recommend`` shows the decision alone.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

from underlay.cli.output import console_for, fail, note, write_output
from underlay.cli.requests import RunOptions, RunResults

__all__ = ["render"]

# Tenants listed per table unless --all-tenants.
_TENANTS_SHOWN = 25


def render(opts: RunOptions, results: RunResults) -> None:
    """Write the files ``opts`` asks for, then print the results (JSON or tables)."""
    _write_reports(opts, results)
    if opts.db is not None:
        _store(opts, results)
    if opts.as_json:
        _print_json(opts, results)
    else:
        _print_tables(opts, results)


def _write_reports(opts: RunOptions, r: RunResults) -> None:
    """The HTML report, the Markdown report, the CSV tables and the plan, as asked."""
    if opts.report is not None:
        from underlay.report.html import render_html

        write_output(opts.report, render_html(r.comparison, r.simulation, r.analysis, r.decision))
    if opts.markdown is not None:
        from underlay.report.markdown import render_markdown

        text = render_markdown(r.comparison, r.simulation, r.analysis, r.decision)
        write_output(opts.markdown, text)
    if opts.csv is not None:
        from underlay.report.csv import to_csv

        write_output(opts.csv, to_csv(r.comparison, r.simulation, r.analysis, r.decision))
    if opts.plan is not None and r.decision is not None and r.decision.hybrid is not None:
        from underlay.report.plan import plan_scenario_yaml

        text = plan_scenario_yaml(
            opts.path, r.scenario, r.decision, opts.plan, seed=opts.seed, trials=opts.trials
        )
        write_output(opts.plan, text)
        note(f"Wrote the plan to {opts.plan}: edit it and run it again.")


def _document(r: RunResults) -> dict[str, Any]:
    """The run as ``--json`` prints it."""
    from underlay.report.json import comparison_to_dict

    data = comparison_to_dict(r.comparison, r.simulation, r.analysis)
    if r.decision is not None:
        from underlay.report.json_decision import decision_to_dict

        data["decision"] = decision_to_dict(r.decision)
    return data


def _store(opts: RunOptions, r: RunResults) -> None:
    """``compare --db``: the run into the results file, as one run of no sweep."""
    from underlay.errors import UnderlayError
    from underlay.report.results_db import ResultsDB

    assert opts.db is not None
    try:
        with ResultsDB(opts.db) as store:
            run_id = store.add_run(_document(r), scenario_path=str(opts.path))
    except UnderlayError as exc:
        raise fail(exc) from None
    note(f"Stored as run {run_id} in {opts.db}: underlay results {opts.db} --run {run_id}")


def _print_json(opts: RunOptions, r: RunResults) -> None:
    data = _document(r)
    text = json.dumps(data, indent=2, allow_nan=False) + "\n"
    if opts.output:
        write_output(opts.output, text)
    else:
        sys.stdout.write(text)


def _print_tables(opts: RunOptions, r: RunResults) -> None:
    console = console_for(opts.output, opts.width)
    if opts.recommend and r.decision is not None:
        from underlay.report.decision_terminal import render_decision

        render_decision(r.decision, console, max_tenants=_limit(opts))
    else:
        _tables(opts, r, console)
    if opts.output:
        write_output(opts.output, console.export_text())


def _limit(opts: RunOptions) -> int | None:
    return None if opts.all_tenants else _TENANTS_SHOWN


def _tables(opts: RunOptions, r: RunResults, console: Console) -> None:
    from underlay.report.terminal import render_analysis, render_comparison, render_simulation

    limit = _limit(opts)
    if r.decision is not None:
        from underlay.report.decision_terminal import render_verdict_line

        render_verdict_line(r.decision, console)
    if opts.show_placement:
        # with the cost analysed, the substrate table shows its total (power at the
        # simulated load), the figure the decision uses: one cost per substrate
        costs = None
        if r.analysis is not None and "cost" in r.analysis.sections:
            costs = [a.cost for a in r.analysis.substrates if a.cost is not None]
        render_comparison(r.comparison, console, max_tenants=limit, costs=costs)
    if r.simulation is not None and (opts.show_placement or not opts.sections):
        render_simulation(r.simulation, console, max_tenants=limit)
    if r.analysis is not None:
        render_analysis(r.analysis, console, max_tenants=limit)
    if r.decision is not None:
        from underlay.report.decision_terminal import render_decision

        render_decision(r.decision, console, max_tenants=limit)
