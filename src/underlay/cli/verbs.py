"""The ``underlay`` command line: thin; parses arguments, calls the pipeline, renders.

Exit codes: 0 success; 1 an underlay error; 2 bad input (a file or option); 3 the
scenario cannot be satisfied at all.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import os
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from underlay.cli.help import Command, Group
from underlay.errors import InputError, ScenarioError, UnderlayError
from underlay.files import refuse_overwrite
from underlay.model.loading import load_scenario
from underlay.model.scenario import MAX_SEED, SUBSTRATE_KINDS, Scenario
from underlay.pipeline import SECTIONS, Analysis, Comparison, Simulation, total_pods
from underlay.pipeline import analyse as run_analyse
from underlay.pipeline import compare as run_compare
from underlay.pipeline import simulate as run_simulate

__all__ = ["app", "main"]

app = typer.Typer(
    help="Where should your Kubernetes clusters run: bare metal, VMs, or a mix?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=Group,
    context_settings={"help_option_names": ["-h", "--help"]},  # the subcommands inherit it
)
import_app = typer.Typer(
    help="Turn real inputs into a scenario file you can edit.", no_args_is_help=True, cls=Group
)
app.add_typer(import_app, name="import")


def _print_version(value: bool) -> None:
    if value:
        sys.stdout.write(f"underlay {_version()}\n")
        raise typer.Exit()


def _version() -> str:
    """The installed distribution's version; the source's when run from a checkout."""
    from importlib import metadata

    try:
        return metadata.version("underlay")
    except metadata.PackageNotFoundError:
        from underlay import __version__

        return __version__


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_print_version, help="print the version and exit"
        ),
    ] = False,
) -> None:
    # The group's options; its help is the Typer's, not this function's docstring.
    pass


err = Console(stderr=True)
# Tables are laid out for this many columns when stdout is not a terminal and $COLUMNS is
# not set (a file, a pipe, a CI log): wide enough for five substrates side by side.
_PIPE_WIDTH = 100
_WIDTHS = (40, 1000)
_PROGRESS_FROM_PODS = 50_000


def _fail(exc: UnderlayError) -> typer.Exit:
    # The message quotes user input (file names, tenant names): plain text, never markup.
    err.print(Text.assemble(("Error:", "bold red"), " ", str(exc)), highlight=False, soft_wrap=True)
    return typer.Exit(exc.exit_code)


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file, so no half-written file is left:
    the temporary file is removed whatever stops the write (a full disk, Ctrl-C, SIGTERM:
    ``underlay.entry``)."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise InputError(f"{path}: cannot write ({exc.strerror})") from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)  # gone already once replaced


_SUBSTRATE_HELP = (
    f"only these substrates, by name or kind (repeatable): {', '.join(SUBSTRATE_KINDS)}"
)
SubstrateOpt = Annotated[
    list[str] | None, typer.Option("--substrate", "-s", metavar="NAME", help=_SUBSTRATE_HELP)
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="print JSON (its schema: underlay docs json)")
]
OutputOpt = Annotated[
    Path | None,
    typer.Option("--output", "-o", metavar="FILE", help="write to this file instead of stdout"),
]
SeedOpt = Annotated[
    int | None,
    typer.Option(
        metavar="SEED",
        help="random seed of the usage models and the failure Monte Carlo (default: the scenario's)",
    ),
]
WidthOpt = Annotated[
    int | None,
    typer.Option(
        "--width",
        help="lay the tables out for N columns, 40 to 1,000 (default: the terminal's width; "
        f"written to a file or a pipe: $COLUMNS, else {_PIPE_WIDTH})",
        metavar="N",
    ),
]
AllTenantsOpt = Annotated[
    bool, typer.Option("--all-tenants", help="list every tenant (default: the first 25)")
]
AllowPathsOpt = Annotated[
    bool,
    typer.Option(
        "--allow-paths",
        help="read trace files outside the scenario's folder (absolute paths, '..', links)",
    ),
]


WeightOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--weight",
        metavar="FACTOR=WEIGHT",
        help="weight of a factor in the verdict, FACTOR=WEIGHT (repeatable): performance, "
        "versions, isolation, sla, cost; default: the scenario's weights (1 each)",
    ),
]
ReportOpt = Annotated[
    Path | None,
    typer.Option(
        "--report", metavar="FILE", help="write a self-contained HTML report (works offline)"
    ),
]
MarkdownOpt = Annotated[
    Path | None, typer.Option("--markdown", metavar="FILE", help="write a Markdown report")
]
SectionOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--section",
        metavar="SECTION",
        help="only these analyses (repeatable): isolation, failures, lifecycle, cost",
    ),
]
TrialsOpt = Annotated[
    int | None,
    typer.Option(
        metavar="N", help="failure Monte Carlo trials, 1 to 100,000 (default: the scenario's)"
    ),
]


@app.command(cls=Command)
def compare(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
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
    output: OutputOpt = None,
    all_tenants: AllTenantsOpt = False,
    width: WidthOpt = None,
    allow_paths: AllowPathsOpt = False,
) -> None:
    """Compare the substrates of a scenario and give the verdict.

    Place every tenant on each substrate, replay usage, analyse every factor, score them
    and give the verdict (with the least-cost hybrid), side by side."""
    _run(
        _Request(
            scenario, as_json, substrate, strategy, simulate_usage,
            SECTIONS if analyse_factors else (), seed, trials, output, all_tenants, static=True,
            weights=tuple(weight or ()), decide=analyse_factors, report=report,
            markdown=markdown, width=width, allow_paths=allow_paths,
        )
    )  # fmt: skip


@app.command(cls=Command)
def simulate(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
    as_json: JsonOpt = False,
    substrate: SubstrateOpt = None,
    seed: SeedOpt = None,
    output: OutputOpt = None,
    all_tenants: AllTenantsOpt = False,
    width: WidthOpt = None,
    allow_paths: AllowPathsOpt = False,
) -> None:
    """Replay usage over time on each substrate.

    Every workload's usage is replayed over the horizon on each substrate's placement."""
    _run(
        _Request(
            scenario, as_json, substrate, None, True, (), seed, None, output, all_tenants,
            static=False, width=width, allow_paths=allow_paths,
        )
    )  # fmt: skip


@app.command(cls=Command)
def analyze(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
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
    wants_sim = simulate_usage and "cost" in sections
    _run(
        _Request(
            scenario, as_json, substrate, None, wants_sim, sections, seed, trials, output,
            all_tenants, static=False, width=width, allow_paths=allow_paths,
        )
    )  # fmt: skip


@app.command(cls=Command)
def recommend(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
    plan: Annotated[
        Path | None,
        typer.Option(
            "--plan",
            metavar="FILE",
            help="where to write the plan as a scenario (default: <scenario>.plan.yaml beside "
            "the scenario)",
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
    """Give the verdict and write the least-cost hybrid plan.

    The verdict and its reasons, and the least-cost hybrid plan meeting every constraint,
    written as an editable scenario file (each tenant pinned to its substrate) beside the
    scenario, or where --plan says."""
    _run(
        _Request(
            scenario, as_json, substrate, None, True, SECTIONS, seed, trials, output,
            all_tenants, static=False, weights=tuple(weight or ()), decide=True,
            plan=plan or scenario.with_name(f"{scenario.stem}.plan.yaml"), recommend=True,
            width=width, allow_paths=allow_paths,
        )
    )  # fmt: skip


@dataclass(frozen=True)
class _Request:
    path: Path
    as_json: bool
    substrate: list[str] | None
    strategy: str | None
    with_simulation: bool
    sections: tuple[str, ...]
    seed: int | None
    trials: int | None
    output: Path | None
    all_tenants: bool
    static: bool
    weights: tuple[str, ...] = ()
    decide: bool = False
    report: Path | None = None
    markdown: Path | None = None
    plan: Path | None = None  # recommend: where the plan scenario goes (beside it by default)
    recommend: bool = False
    width: int | None = None  # --width
    allow_paths: bool = False  # trace files outside the scenario's folder may be read


def _check_numbers(req: _Request) -> None:
    """Out-of-range numeric options, refused before anything is read (exit 2, one line)."""
    if req.seed is not None and not 0 <= req.seed <= MAX_SEED:
        raise InputError(
            f"--seed: must be from 0 to {MAX_SEED:,} (as in the scenario), got {req.seed}"
        )
    if req.trials is not None and not 1 <= req.trials <= 100_000:
        raise InputError(f"--trials: must be from 1 to 100,000, got {req.trials}")


def _run(req: _Request) -> None:
    try:
        if req.width is not None and not _WIDTHS[0] <= req.width <= _WIDTHS[1]:
            raise InputError(
                f"--width: must be from {_WIDTHS[0]} to {_WIDTHS[1]:,} columns, got {req.width}"
            )
        _check_numbers(req)
        sc = load_scenario(req.path, allow_paths=req.allow_paths)
        # The scenario (and the imports) live until the process exits: keep them out of
        # the cyclic collector's full passes, which otherwise rescan them during placement
        # (0.14 s of a 1M-pod placement; benchmarks/README.md).
        gc.freeze()
        if req.strategy is not None:
            from underlay.placement.strategies import STRATEGIES

            if req.strategy not in STRATEGIES:
                raise InputError(
                    f"--strategy: unknown {req.strategy!r} (known: {', '.join(STRATEGIES)})"
                )
        for flag, target in (
            ("--output", req.output), ("--report", req.report), ("--markdown", req.markdown),
            ("--plan", req.plan),
        ):  # fmt: skip
            if target is not None:
                refuse_overwrite(flag, target, [("scenario", req.path)])
            if target is not None and not target.parent.is_dir():
                # Say so now, not after minutes of placement and simulation.
                raise InputError(
                    f"{flag} {target}: folder {target.parent} does not exist; create it "
                    "or write elsewhere"
                )
        from underlay.decision.decide import parse_weights

        try:
            weights = parse_weights(list(req.weights), sc.weights.as_dict())
        except ValueError as exc:
            raise InputError(f"--weight: {exc}") from None
        unknown = [s for s in req.sections if s not in SECTIONS]
        if unknown:
            raise InputError(f"--section: unknown {unknown[0]!r} (known: {', '.join(SECTIONS)})")
        if req.seed is not None:
            sc = sc.model_copy(
                update={"simulation": sc.simulation.model_copy(update={"seed": req.seed})}
            ).with_base_dir(sc.base_dir)
        try:
            result, simulation, analysis = _with_progress(sc, req)
            decision = None
            if req.decide and analysis is not None:
                from underlay.decision.decide import decide

                decision = decide(
                    result, simulation, analysis, weights=weights, require_plan=req.recommend
                )
        except ScenarioError as exc:  # found after loading: name the file like load errors
            if not str(exc).startswith(str(req.path)):
                raise ScenarioError(f"{req.path}: {exc}") from None
            raise
    except UnderlayError as exc:
        raise _fail(exc) from None
    if req.report is not None:
        from underlay.report.html import render_html

        _write_output(req.report, render_html(result, simulation, analysis, decision))
    if req.markdown is not None:
        from underlay.report.markdown import render_markdown

        _write_output(req.markdown, render_markdown(result, simulation, analysis, decision))
    if req.plan is not None and decision is not None and decision.hybrid is not None:
        from underlay.report.plan import plan_scenario_yaml

        text = plan_scenario_yaml(
            req.path, sc, decision, req.plan, seed=req.seed, trials=req.trials
        )
        _write_output(req.plan, text)
        err.print(Text(f"Wrote the plan to {req.plan}: edit it and run it again."), highlight=False)
    if req.as_json:
        from underlay.report.json import comparison_to_dict

        data = comparison_to_dict(result, simulation, analysis)
        if decision is not None:
            from underlay.report.json_decision import decision_to_dict

            data["decision"] = decision_to_dict(decision)
        text = json.dumps(data, indent=2, allow_nan=False) + "\n"
        if req.output:
            _write_output(req.output, text)
        else:
            sys.stdout.write(text)
        return
    from underlay.report.terminal import render_analysis, render_comparison, render_simulation

    limit = None if req.all_tenants else 25
    console = _console(req)
    if req.recommend and decision is not None:
        from underlay.report.decision_terminal import render_decision

        render_decision(decision, console, max_tenants=limit)
        if req.output:
            _write_output(req.output, console.export_text())
        return
    if decision is not None:
        from underlay.report.decision_terminal import render_verdict_line

        render_verdict_line(decision, console)
    if req.static:
        # with the cost analysed, the substrate table shows its total (power at the
        # simulated load), the figure the decision uses: one cost per substrate
        costs = None
        if analysis is not None and "cost" in analysis.sections:
            costs = [a.cost for a in analysis.substrates if a.cost is not None]
        render_comparison(result, console, max_tenants=limit, costs=costs)
    if simulation is not None and (req.static or not req.sections):
        render_simulation(simulation, console, max_tenants=limit)
    if analysis is not None:
        render_analysis(analysis, console, max_tenants=limit)
    if decision is not None:
        from underlay.report.decision_terminal import render_decision

        render_decision(decision, console, max_tenants=limit)
    if req.output:
        _write_output(req.output, console.export_text())


def _pipe_width() -> int:
    """Columns to lay tables out for when the output is not a terminal: $COLUMNS (kept
    within the range of --width), else ``_PIPE_WIDTH``."""
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit():
        return min(max(int(columns), _WIDTHS[0]), _WIDTHS[1])
    return _PIPE_WIDTH


def _console(req: _Request) -> Console:
    """Where the tables go, laid out for --width, else the terminal's width, else (a file,
    a pipe) ``_pipe_width()``."""
    if req.output is not None:
        return Console(record=True, width=req.width or _pipe_width(), file=io.StringIO())
    if req.width is not None:
        return Console(width=req.width)
    console = Console()
    return console if console.is_terminal else Console(width=_pipe_width())


def _write_output(path: Path, text: str) -> None:
    """``write_atomically``, its failure (disk full, no permission) reported like bad input."""
    try:
        write_atomically(path, text)
    except UnderlayError as exc:
        raise _fail(exc) from None


def _with_progress(
    sc: Scenario, req: _Request
) -> tuple[Comparison, Simulation | None, Analysis | None]:
    pods = total_pods(sc)
    kinds = req.substrate or sc.substrate_labels
    big = pods >= _PROGRESS_FROM_PODS or (
        req.with_simulation and pods * sc.simulation.steps >= 50_000_000
    )
    seed = req.seed

    def analyses(result: Comparison, simulation: Simulation | None, **kw: Any) -> Analysis | None:
        if not req.sections:
            return None
        return run_analyse(
            result, simulation, sections=req.sections, trials=req.trials, seed=seed, **kw
        )

    if not big or req.as_json or not err.is_terminal:
        result = run_compare(sc, substrates=req.substrate, strategy=req.strategy)
        simulation = run_simulate(sc, comparison=result) if req.with_simulation else None
        return result, simulation, analyses(result, simulation)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("placing", total=pods * len(kinds))
        result = run_compare(
            sc, substrates=req.substrate, strategy=req.strategy,
            on_substrate=lambda k: bar.update(task, description=f"placing on {k}"),
            on_pods=lambda n: bar.advance(task, n),
        )  # fmt: skip
        simulation = None
        if req.with_simulation:
            steps = bar.add_task("simulating", total=sc.simulation.steps * len(kinds))
            simulation = run_simulate(
                sc, comparison=result,
                on_substrate=lambda k: bar.update(steps, description=f"simulating {k}"),
                on_steps=lambda n: bar.advance(steps, n),
            )  # fmt: skip
        total = len(req.sections) * len(kinds)
        work = bar.add_task("analysing", total=total)

        def on_step(what: str) -> None:
            bar.update(work, description=f"analysing {what}")
            bar.advance(work, 1)

        return result, simulation, analyses(result, simulation, on_step=on_step)


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
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        sys.stdout.write(yaml.safe_dump(data, sort_keys=False, width=100, allow_unicode=True))


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
        raise _fail(exc) from None
    err.print(Text(f"Wrote {output}: run underlay compare {output}"), highlight=False)


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
        raise _fail(exc) from None
    sys.stdout.write(text)


_ScenarioOutput = Annotated[
    Path | None,
    typer.Option("--output", "-o", metavar="FILE", help="write the scenario here, not stdout"),
]
_Name = Annotated[str, typer.Option(metavar="NAME", help="scenario name")]
_Cores = Annotated[int, typer.Option(metavar="CORES", help="cores of the host model to size with")]
_Memory = Annotated[str, typer.Option(metavar="MEMORY", help="memory of the host model")]


@import_app.command(cls=Command)
def kubectl(
    nodes: Annotated[
        Path, typer.Option("--nodes", metavar="FILE", help="JSON from `kubectl get nodes -o json`")
    ],
    pods: Annotated[
        Path, typer.Option("--pods", metavar="FILE", help="JSON from `kubectl get pods -A -o json`")
    ],
    tenant_from: Annotated[
        str,
        typer.Option(
            "--tenant-from",
            metavar="namespace|label:KEY",
            help="tenants from the namespace or from a pod label",
        ),
    ] = "namespace",
    output: _ScenarioOutput = None,
    name: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            help="scenario name (default: the --output file's stem, or kubectl-import)",
        ),
    ] = None,
) -> None:
    """Turn kubectl JSON dumps of nodes and pods into a scenario.

    From `kubectl get nodes -o json` and `kubectl get pods -A -o json`: a scenario file to
    review and edit."""
    from underlay.importers.kubectl import import_kubectl

    try:
        if output:
            refuse_overwrite("--output", output, [("--nodes", nodes), ("--pods", pods)])
        result = import_kubectl(
            nodes, pods, tenant_from=tenant_from, name=name or (output.stem if output else None)
        )
        if output:
            write_atomically(output, result.text)
    except UnderlayError as exc:
        raise _fail(exc) from None
    if output:
        err.print(Text(f"Wrote {output}: {result.summary}. Review its header."), highlight=False)
    else:
        sys.stdout.write(result.text)


@import_app.command(cls=Command)
def openb(
    nodes: Annotated[Path, typer.Option("--nodes", metavar="FILE", help="openb node list CSV")],
    pods: Annotated[Path, typer.Option("--pods", metavar="FILE", help="openb pod list CSV")],
    output: _ScenarioOutput = None,
    name: _Name = "openb",
) -> None:
    """Turn the Alibaba GPU trace (openb) into a scenario.

    The trace is cluster-trace-gpu-v2023 ("openb"): its node list and pod list."""
    from underlay.importers.openb import openb_scenario, render

    try:
        if output:
            refuse_overwrite("--output", output, [("--nodes", nodes), ("--pods", pods)])
        data, header = openb_scenario(nodes, pods, name=name)
        text = render(data, header)
        if output:
            write_atomically(output, text)
    except UnderlayError as exc:
        raise _fail(exc) from None
    if output:
        err.print(Text(f"Wrote {output}. Review its header."), highlight=False)
    else:
        sys.stdout.write(text)


_TraceOutput = Annotated[
    Path,
    typer.Option(
        "--output",
        "-o",
        metavar="FILE",
        help="scenario YAML to write; its trace goes beside it (<stem>.trace.csv)",
    ),
]
_Tenants = Annotated[
    int, typer.Option(metavar="N", help="split the workloads round-robin into N tenants")
]


class _TraceProgress:
    """A progress bar on stderr while a trace importer reads (only on a terminal);
    called as ``progress(done, total)``."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._bar: Progress | None = None
        self._task = 0

    def __enter__(self) -> _TraceProgress:
        if err.is_terminal:
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TimeElapsedColumn(),
                console=err,
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task(f"reading {self._what}", total=None)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __call__(self, done: int, total: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=done, total=total)  # type: ignore[arg-type]


def _trace_import(
    output: Path,
    inputs: list[tuple[str, Path]],
    what: str,
    build: Callable[[str, _TraceProgress], Any],
) -> None:
    """Run an importer (``build(trace file name, progress)``) and write the scenario and its
    trace together; bad input → exit 2, nothing written. Neither output may replace one
    of the ``inputs`` (``(label, path)``) or land in an input folder."""
    from underlay.importers.trace_import import trace_path_for, write_import

    trace = trace_path_for(output)
    try:
        refuse_overwrite("--output", output, inputs)
        refuse_overwrite(f"--output {output}: its trace", trace, inputs)
        with _TraceProgress(what) as progress:
            result = build(trace.name, progress)
        write_import(output, result)
    except UnderlayError as exc:
        raise _fail(exc) from None
    err.print(
        Text(f"Wrote {output} and {trace}: {result.summary}. Review its header."), highlight=False
    )


@import_app.command(cls=Command)
def bitbrains(
    paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="PATH", help="Bitbrains VM files (GWA-T-12 .csv), or folders of them"
        ),
    ],
    output: _TraceOutput,
    host_cores: _Cores = 64,
    host_memory: _Memory = "512Gi",
    tenants: _Tenants = 1,
    name: _Name = "bitbrains",
) -> None:
    """Turn Bitbrains VM traces (GWA-T-12) into a scenario.

    The scenario replays each VM's usage from a trace file written beside it."""
    from underlay.importers.bitbrains import bitbrains_import

    _trace_import(
        output, [("input", p) for p in paths], "Bitbrains files",
        lambda trace_file, progress: bitbrains_import(
            paths, trace_file=trace_file, name=name, host_cores=host_cores,
            host_memory=host_memory, tenants=tenants, progress=progress,
        ),
    )  # fmt: skip


@import_app.command(cls=Command)
def alibaba2018(
    usage: Annotated[
        Path, typer.Option("--usage", metavar="FILE", help="machine_usage.csv (no header)")
    ],
    meta: Annotated[
        Path, typer.Option("--meta", metavar="FILE", help="machine_meta.csv (no header)")
    ],
    output: _TraceOutput,
    containers: Annotated[
        Path | None,
        typer.Option("--containers", metavar="FILE", help="container_usage.csv: import app groups"),
    ] = None,
    container_meta: Annotated[
        Path | None,
        typer.Option(
            "--container-meta", metavar="FILE", help="container_meta.csv (with --containers)"
        ),
    ] = None,
    machines: Annotated[
        int | None, typer.Option(metavar="N", help="only the first N machines of the usage file")
    ] = None,
    machine_memory: Annotated[
        str,
        typer.Option(
            metavar="MEMORY",
            help="memory of a machine with mem_size 100 (the trace normalises it)",
        ),
    ] = "512Gi",
    host_cores: Annotated[
        int | None,
        typer.Option(
            metavar="CORES", help="cores of the host model (default: 2x the largest machine)"
        ),
    ] = None,
    host_memory: Annotated[
        str | None,
        typer.Option(
            metavar="MEMORY", help="memory of the host model (default: 2x the largest machine)"
        ),
    ] = None,
    tenants: _Tenants = 1,
    name: _Name = "alibaba2018",
) -> None:
    """Turn the Alibaba cluster trace v2018 into a scenario.

    Machines, or containers by app group; the scenario replays their usage from a trace
    file written beside it."""
    from underlay.importers.alibaba2018 import alibaba2018_import

    inputs = [("--usage", usage), ("--meta", meta)]
    inputs += [(flag, p) for flag, p in (("--containers", containers),
               ("--container-meta", container_meta)) if p is not None]  # fmt: skip
    _trace_import(
        output, inputs, usage.name,
        lambda trace_file, progress: alibaba2018_import(
            usage, meta, trace_file=trace_file, containers_path=containers,
            container_meta_path=container_meta, machines=machines,
            machine_memory=machine_memory, host_cores=host_cores, host_memory=host_memory,
            tenants=tenants, name=name, progress=progress,
        ),
    )  # fmt: skip


@import_app.command(cls=Command)
def planetlab(
    folder: Annotated[
        Path, typer.Argument(metavar="DAY", help="a PlanetLab day folder, one file per VM")
    ],
    output: _TraceOutput,
    limit: Annotated[
        int | None, typer.Option(metavar="N", help="only the first N files, by name")
    ] = None,
    group: Annotated[int, typer.Option(metavar="N", help="N files per workload (replicas N)")] = 1,
    vm_cores: Annotated[
        int, typer.Option(metavar="CORES", help="cores that 100% of a VM means")
    ] = 1,
    vm_memory: Annotated[
        str, typer.Option(metavar="MEMORY", help="memory of each VM (the trace has none)")
    ] = "1Gi",
    host_cores: _Cores = 64,
    host_memory: _Memory = "512Gi",
    tenants: _Tenants = 1,
    name: _Name = "planetlab",
) -> None:
    """Turn PlanetLab VM CPU traces into a scenario.

    The traces as shipped with CloudSim; the scenario replays them from a trace file
    written beside it."""
    from underlay.importers.planetlab import planetlab_import

    _trace_import(
        output, [("input", folder)], "PlanetLab files",
        lambda trace_file, progress: planetlab_import(
            folder, trace_file=trace_file, limit=limit, group=group, vm_cores=vm_cores,
            vm_memory=vm_memory, host_cores=host_cores, host_memory=host_memory,
            tenants=tenants, name=name, progress=progress,
        ),
    )  # fmt: skip


def main() -> None:
    """Entry point: the app, with unexpected failures reported in one line, not a traceback
    (set UNDERLAY_DEBUG=1 to see it)."""
    try:
        app()
    except Exception as exc:  # a bug in underlay, not bad input: those are UnderlayError
        if os.environ.get("UNDERLAY_DEBUG"):
            raise
        err.print(
            Text.assemble(
                ("Internal error:", "bold red"),
                f" {type(exc).__name__}: {exc}\nThis is a bug in underlay. Rerun with "
                "UNDERLAY_DEBUG=1 for the traceback and report it with the scenario file.",
            ),
            highlight=False,
        )
        sys.exit(1)
