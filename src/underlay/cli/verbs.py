"""The verbs of ``underlay``: the four that run a scenario (``compare``, ``simulate``,
``analyse``, ``recommend``; they share the run flow of ``run.py``) and those that print
what underlay ships (``schema``, ``defaults``, ``example``, ``docs``).

``analyse`` is spelt as in the Python API; ``analyze`` is its hidden alias.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Annotated

import typer
import yaml

from underlay.cli.app import app
from underlay.cli.help import Command
from underlay.cli.options import (
    AllowPathsOpt,
    AllTenantsOpt,
    CsvOpt,
    JsonOpt,
    MarkdownOpt,
    OutputOpt,
    ReplayRayOpt,
    ReplayWorkersOpt,
    ReportOpt,
    ScenarioArg,
    SectionOpt,
    SeedOpt,
    SubstrateOpt,
    TrialsOpt,
    WeightOpt,
    WidthOpt,
)
from underlay.cli.output import fail, note, write_atomically
from underlay.cli.run import RunOptions, run
from underlay.errors import InputError, UnderlayError
from underlay.files import yaml_text
from underlay.pipeline import SECTIONS

__all__ = [
    "analyse",
    "compare",
    "defaults",
    "docs",
    "example",
    "recommend",
    "schema",
    "simulate",
]


@app.command(cls=Command)
def compare(
    scenario: ScenarioArg,
    as_json: JsonOpt = False,
    substrate: SubstrateOpt = None,
    strategy: Annotated[
        str | None,
        typer.Option(metavar="STRATEGY", help="placement strategy, overriding the scenario's"),
    ] = None,
    simulate_usage: Annotated[
        bool, typer.Option("--simulate/--no-simulate", help="also replay usage over time")
    ] = True,
    analyse_factors: Annotated[
        bool,
        typer.Option("--analyse/--no-analyse", help="also isolation, failures, lifecycle and cost"),
    ] = True,
    seed: SeedOpt = None,
    trials: TrialsOpt = None,
    weight: WeightOpt = None,
    report: ReportOpt = None,
    markdown: MarkdownOpt = None,
    csv: CsvOpt = None,
    output: OutputOpt = None,
    all_tenants: AllTenantsOpt = False,
    width: WidthOpt = None,
    allow_paths: AllowPathsOpt = False,
    db: Annotated[
        Path | None,
        typer.Option("--db", metavar="FILE", help="also store the run in this DuckDB results file"),
    ] = None,
    workers: ReplayWorkersOpt = None,
    ray: ReplayRayOpt = None,
) -> None:
    """Compare the substrates of a scenario and give the verdict.

    Place every tenant on each substrate, replay usage, analyse every factor, score them
    and give the verdict (with the least-cost hybrid), side by side."""
    run(
        RunOptions(
            scenario,
            as_json=as_json,
            substrates=substrate,
            strategy=strategy,
            simulate=simulate_usage,
            sections=SECTIONS if analyse_factors else (),
            seed=seed,
            trials=trials,
            output=output,
            all_tenants=all_tenants,
            show_placement=True,
            weights=tuple(weight or ()),
            decide=analyse_factors,
            report=report,
            markdown=markdown,
            csv=csv,
            width=width,
            allow_paths=allow_paths,
            db=db,
            workers=workers,
            ray=ray,
        )
    )


@app.command(cls=Command)
def simulate(
    scenario: ScenarioArg,
    as_json: JsonOpt = False,
    substrate: SubstrateOpt = None,
    seed: SeedOpt = None,
    output: OutputOpt = None,
    all_tenants: AllTenantsOpt = False,
    width: WidthOpt = None,
    allow_paths: AllowPathsOpt = False,
    workers: ReplayWorkersOpt = None,
    ray: ReplayRayOpt = None,
) -> None:
    """Replay usage over time on each substrate.

    Every workload's usage is replayed over the horizon on each substrate's placement."""
    run(
        RunOptions(
            scenario,
            as_json=as_json,
            substrates=substrate,
            simulate=True,
            seed=seed,
            output=output,
            all_tenants=all_tenants,
            width=width,
            allow_paths=allow_paths,
            workers=workers,
            ray=ray,
        )
    )


@app.command(cls=Command)
def analyse(
    scenario: ScenarioArg,
    as_json: JsonOpt = False,
    substrate: SubstrateOpt = None,
    section: SectionOpt = None,
    simulate_usage: Annotated[
        bool,
        typer.Option(
            "--simulate/--no-simulate",
            help="replay usage first (power at the simulated load, cost per SLA-met pod-hour)",
        ),
    ] = True,
    seed: SeedOpt = None,
    trials: TrialsOpt = None,
    output: OutputOpt = None,
    all_tenants: AllTenantsOpt = False,
    width: WidthOpt = None,
    allow_paths: AllowPathsOpt = False,
) -> None:
    """Analyse isolation, failures, lifecycle and cost.

    Isolation and blast radius, failures, the Kubernetes lifecycle and cost, per substrate."""
    sections = tuple(section) if section else SECTIONS
    run(
        RunOptions(
            scenario,
            as_json=as_json,
            substrates=substrate,
            simulate=simulate_usage and "cost" in sections,
            sections=sections,
            seed=seed,
            trials=trials,
            output=output,
            all_tenants=all_tenants,
            width=width,
            allow_paths=allow_paths,
        )
    )


# The American spelling works too; the help lists only ``analyse``.
app.command("analyze", cls=Command, hidden=True)(analyse)


@app.command(cls=Command)
def recommend(
    scenario: ScenarioArg,
    plan: Annotated[
        Path | None,
        typer.Option(
            "--plan",
            metavar="FILE",
            help="where to write the plan as a scenario (default: <scenario>.plan.yaml beside "
            "the scenario)",
        ),
    ] = None,
    rounds: Annotated[
        int | None,
        typer.Option(
            "--rounds",
            metavar="N",
            help="plans placed and replayed as one fleet at most, until the plan is stable "
            "(default 8)",
        ),
    ] = None,
    as_json: JsonOpt = False,
    substrate: SubstrateOpt = None,
    seed: SeedOpt = None,
    trials: TrialsOpt = None,
    weight: WeightOpt = None,
    output: OutputOpt = None,
    all_tenants: AllTenantsOpt = False,
    width: WidthOpt = None,
    allow_paths: AllowPathsOpt = False,
) -> None:
    """Give the verdict and the least-cost plan, measured as one fleet.

    The verdict and its reasons, and the least-cost hybrid plan meeting every constraint:
    placed, replayed and analysed as one fleet, predicted vs measured, solved again with
    the measured figures until it is stable; written as an editable scenario file (each
    tenant pinned to its substrate, the plan as a hybrid substrate) beside the scenario,
    or where --plan says."""
    run(
        RunOptions(
            scenario,
            as_json=as_json,
            substrates=substrate,
            simulate=True,
            sections=SECTIONS,
            seed=seed,
            trials=trials,
            output=output,
            all_tenants=all_tenants,
            weights=tuple(weight or ()),
            decide=True,
            plan=plan or scenario.with_name(f"{scenario.stem}.plan.yaml"),
            recommend=True,
            rounds=rounds,
            width=width,
            allow_paths=allow_paths,
        )
    )


@app.command(cls=Command)
def schema() -> None:
    """Print the JSON Schema of scenario files.

    Point an editor's YAML plugin or a validator at it."""
    from underlay.model.scenario import scenario_json_schema

    sys.stdout.write(json.dumps(scenario_json_schema(), indent=2) + "\n")


@app.command(cls=Command)
def defaults(
    as_json: Annotated[bool, typer.Option("--json", help="print as JSON instead of YAML")] = False,
    releases: Annotated[
        bool,
        typer.Option(
            "--releases", help="the Kubernetes release calendar (dates per minor, with sources)"
        ),
    ] = False,
    calibration: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="a calibration file (underlay calibrate): its measured figures replace the "
            "cited ones, each marked 'measured on <host> at <date>'",
        ),
    ] = None,
) -> None:
    """Show every default underlay uses, with its source."""
    from underlay.defaults.catalog import raw_defaults

    if releases:
        from importlib import resources

        text = (
            resources.files("underlay.defaults")
            .joinpath("kubernetes_releases.yaml")
            .read_text("utf-8")
        )
        data = yaml.safe_load(text)
        if not as_json:
            sys.stdout.write(text)
            return
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
        return
    data = raw_defaults()
    if calibration is not None:
        from underlay.model.calibration import defaults_with_measured, read_measured

        try:
            data = defaults_with_measured(read_measured(calibration))
        except UnderlayError as exc:
            raise fail(exc) from None
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        sys.stdout.write(yaml_text(data))  # the one YAML layout underlay writes


@app.command(cls=Command)
def example(
    name: Annotated[
        str | None, typer.Argument(help="the example to write (default: list them)")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="write it to this file, not stdout"),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="overwrite FILE if it exists")] = False,
) -> None:
    """List the bundled example scenarios, or write one.

    Each is self-contained (no trace files): `underlay example saas-platform -o s.yaml`,
    then `underlay compare s.yaml`."""
    from underlay.bundled import example_summary, example_text, examples

    try:
        if name is None:
            if output is not None:
                raise InputError("--output: name the example to write (underlay example NAME)")
            names = examples()
            width = max(map(len, names)) + 2
            for n in names:  # wrapped at 80 columns, for a terminal or a pipe alike
                summary = example_summary(example_text(n))
                lines = textwrap.wrap(summary, 80 - width) or [""]
                sys.stdout.write(f"{n:<{width}}" + f"\n{'':<{width}}".join(lines) + "\n")
            sys.stdout.write("\nWrite one: underlay example NAME -o FILE\n")
            return
        text = example_text(name)
        if output is None:
            sys.stdout.write(text)
            return
        if output.is_dir():
            raise InputError(f"--output {output}: that is a folder; name a file in it")
        if output.exists() and not force:
            raise InputError(f"--output {output}: the file exists; --force to overwrite it")
        if not output.parent.is_dir():
            raise InputError(f"--output {output}: folder {output.parent} does not exist")
        write_atomically(output, text)
    except UnderlayError as exc:
        raise fail(exc) from None
    note(f"Wrote {output}: run underlay compare {output}")


@app.command(cls=Command)
def docs(
    name: Annotated[str | None, typer.Argument(help="the document (default: list them)")] = None,
) -> None:
    """Print bundled documentation, such as the JSON output's schema.

    `underlay docs json` prints what --json writes, field by field (Markdown)."""
    from underlay.bundled import DOCS, doc_text

    if name is None:
        width = max(map(len, DOCS))
        for n, (_, what) in DOCS.items():
            sys.stdout.write(f"{n:<{width}}  {what}\n")
        return
    try:
        text = doc_text(name)
    except UnderlayError as exc:
        raise fail(exc) from None
    sys.stdout.write(text)
