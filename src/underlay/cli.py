"""The ``underlay`` command line: thin; parses arguments, calls the pipeline, renders.

Exit codes: 0 success; 1 an underlay error; 2 bad input (a file or option); 3 the
scenario cannot be satisfied at all.
"""

from __future__ import annotations

import gc
import io
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from underlay.errors import InputError, ScenarioError, UnderlayError
from underlay.files import refuse_overwrite
from underlay.model.loading import load_scenario
from underlay.model.scenario import SUBSTRATE_KINDS, Scenario
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
)
import_app = typer.Typer(
    help="Turn real inputs into a scenario file you can edit.", no_args_is_help=True
)
app.add_typer(import_app, name="import")

out = Console()
err = Console(stderr=True)
_PROGRESS_FROM_PODS = 50_000


def _fail(exc: UnderlayError) -> typer.Exit:
    # The message quotes user input (file names, tenant names): plain text, never markup.
    err.print(Text.assemble(("Error:", "bold red"), " ", str(exc)), highlight=False, soft_wrap=True)
    return typer.Exit(exc.exit_code)


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file, so no half-written file is left."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"{path}: cannot write ({exc.strerror})") from None


_SUBSTRATE_HELP = (
    f"only these substrates, by name or kind (repeatable): {', '.join(SUBSTRATE_KINDS)}"
)
SubstrateOpt = Annotated[list[str] | None, typer.Option("--substrate", "-s", help=_SUBSTRATE_HELP)]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON (schema: docs/json.md)")]
OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="write to this file instead of stdout")
]
SeedOpt = Annotated[
    int | None,
    typer.Option(
        help="random seed of the usage models and the failure Monte Carlo (default: the scenario's)"
    ),
]
AllTenantsOpt = Annotated[
    bool, typer.Option("--all-tenants", help="list every tenant (default: the first 25)")
]


WeightOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--weight",
        help="weight of a factor in the verdict, FACTOR=WEIGHT (repeatable): performance, "
        "versions, isolation, sla, cost; default: the scenario's weights (1 each)",
    ),
]
ReportOpt = Annotated[
    Path | None,
    typer.Option("--report", help="write a self-contained HTML report (works offline)"),
]
MarkdownOpt = Annotated[Path | None, typer.Option("--markdown", help="write a Markdown report")]
SectionOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--section",
        help="only these analyses (repeatable): isolation, failures, lifecycle, cost",
    ),
]
TrialsOpt = Annotated[
    int | None,
    typer.Option(help="failure Monte Carlo trials, 1 to 100,000 (default: the scenario's)"),
]


@app.command()
def compare(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
    as_json: JsonOpt = False,
    substrate: SubstrateOpt = None,
    strategy: Annotated[
        str | None, typer.Option(help="placement strategy, overriding the scenario's")
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
) -> None:
    """Place every tenant on each substrate, replay usage, analyse every factor, score them
    and give the verdict (with the least-cost hybrid), side by side."""
    _run(
        _Request(
            scenario, as_json, substrate, strategy, simulate_usage,
            SECTIONS if analyse_factors else (), seed, trials, output, all_tenants, static=True,
            weights=tuple(weight or ()), decide=analyse_factors, report=report,
            markdown=markdown,
        )
    )  # fmt: skip


@app.command()
def simulate(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
    as_json: JsonOpt = False,
    substrate: SubstrateOpt = None,
    seed: SeedOpt = None,
    output: OutputOpt = None,
    all_tenants: AllTenantsOpt = False,
) -> None:
    """Replay every workload's usage over the horizon on each substrate's placement."""
    _run(
        _Request(scenario, as_json, substrate, None, True, (), seed, None, output, all_tenants, static=False)
    )  # fmt: skip


@app.command()
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
) -> None:
    """Isolation and blast radius, failures, the Kubernetes lifecycle and cost, per substrate."""
    sections = tuple(section) if section else SECTIONS
    wants_sim = simulate_usage and "cost" in sections
    _run(
        _Request(scenario, as_json, substrate, None, wants_sim, sections, seed, trials, output, all_tenants, static=False)
    )  # fmt: skip


@app.command()
def recommend(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
    plan: Annotated[
        Path | None,
        typer.Option(
            "--plan", help="where to write the plan as a scenario (default: ./<name>.plan.yaml)"
        ),
    ] = None,
    as_json: JsonOpt = False,
    substrate: SubstrateOpt = None,
    seed: SeedOpt = None,
    trials: TrialsOpt = None,
    weight: WeightOpt = None,
    output: OutputOpt = None,
    all_tenants: AllTenantsOpt = False,
) -> None:
    """The verdict and its reasons, and the least-cost hybrid plan meeting every constraint,
    written as an editable scenario file (each tenant pinned to its substrate)."""
    _run(
        _Request(
            scenario, as_json, substrate, None, True, SECTIONS, seed, trials, output,
            all_tenants, static=False, weights=tuple(weight or ()), decide=True, plan=plan,
            recommend=True,
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
    plan: Path | None = None  # recommend: where the plan scenario goes
    recommend: bool = False


def _run(req: _Request) -> None:
    try:
        sc = load_scenario(req.path)
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
        if req.trials is not None and not 1 <= req.trials <= 100_000:
            raise InputError(f"--trials: must be from 1 to 100,000, got {req.trials}")
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
    if req.recommend and decision is not None and decision.hybrid is not None:
        from underlay.report.plan import plan_scenario_yaml

        target = req.plan or Path(f"{req.path.stem}.plan.yaml")
        text = plan_scenario_yaml(req.path, sc, decision, target, seed=req.seed, trials=req.trials)
        _write_output(target, text)
        err.print(Text(f"Wrote the plan to {target}: edit it and run it again."), highlight=False)
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
    console = Console(record=True, width=160, file=io.StringIO()) if req.output else out
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
        render_comparison(result, console, max_tenants=limit)
    if simulation is not None and (req.static or not req.sections):
        render_simulation(simulation, console, max_tenants=limit)
    if analysis is not None:
        render_analysis(analysis, console, max_tenants=limit)
    if decision is not None:
        from underlay.report.decision_terminal import render_decision

        render_decision(decision, console, max_tenants=limit)
    if req.output:
        _write_output(req.output, console.export_text())


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


@app.command()
def schema() -> None:
    """Print the JSON Schema of scenario files (for editors and validators)."""
    from underlay.model.scenario import scenario_json_schema

    sys.stdout.write(json.dumps(scenario_json_schema(), indent=2) + "\n")


@app.command()
def defaults(
    as_json: Annotated[bool, typer.Option("--json", help="print as JSON instead of YAML")] = False,
    releases: Annotated[
        bool,
        typer.Option(
            "--releases", help="the Kubernetes release calendar (dates per minor, with sources)"
        ),
    ] = False,
) -> None:
    """Show every default underlay uses, each with its source."""
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


@import_app.command()
def kubectl(
    nodes: Annotated[Path, typer.Option("--nodes", help="JSON from `kubectl get nodes -o json`")],
    pods: Annotated[Path, typer.Option("--pods", help="JSON from `kubectl get pods -A -o json`")],
    tenant_from: Annotated[
        str, typer.Option("--tenant-from", help="tenants from 'namespace' or 'label:KEY'")
    ] = "namespace",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write the scenario here, not stdout")
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(help="scenario name (default: the --output file's stem, or kubectl-import)"),
    ] = None,
) -> None:
    """Turn `kubectl get nodes/pods -o json` dumps into a scenario file to review and edit."""
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


@import_app.command()
def openb(
    nodes: Annotated[Path, typer.Option("--nodes", help="openb node list CSV")],
    pods: Annotated[Path, typer.Option("--pods", help="openb pod list CSV")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write the scenario here, not stdout")
    ] = None,
    name: Annotated[str, typer.Option(help="scenario name")] = "openb",
) -> None:
    """Turn the Alibaba GPU trace (cluster-trace-gpu-v2023, "openb") into a scenario file."""
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
        "--output", "-o", help="scenario YAML to write; its trace goes beside it (<stem>.trace.csv)"
    ),
]
_Tenants = Annotated[int, typer.Option(help="split the workloads round-robin into N tenants")]


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


@import_app.command()
def bitbrains(
    paths: Annotated[
        list[Path], typer.Argument(help="Bitbrains VM files (GWA-T-12 .csv), or folders of them")
    ],
    output: _TraceOutput,
    host_cores: Annotated[int, typer.Option(help="cores of the host model to size with")] = 64,
    host_memory: Annotated[str, typer.Option(help="memory of the host model")] = "512Gi",
    tenants: _Tenants = 1,
    name: Annotated[str, typer.Option(help="scenario name")] = "bitbrains",
) -> None:
    """Turn Bitbrains VM traces (GWA-T-12) into a scenario that replays their usage."""
    from underlay.importers.bitbrains import bitbrains_import

    _trace_import(
        output, [("input", p) for p in paths], "Bitbrains files",
        lambda trace_file, progress: bitbrains_import(
            paths, trace_file=trace_file, name=name, host_cores=host_cores,
            host_memory=host_memory, tenants=tenants, progress=progress,
        ),
    )  # fmt: skip


@import_app.command()
def alibaba2018(
    usage: Annotated[Path, typer.Option("--usage", help="machine_usage.csv (no header)")],
    meta: Annotated[Path, typer.Option("--meta", help="machine_meta.csv (no header)")],
    output: _TraceOutput,
    containers: Annotated[
        Path | None, typer.Option("--containers", help="container_usage.csv: import app groups")
    ] = None,
    container_meta: Annotated[
        Path | None, typer.Option("--container-meta", help="container_meta.csv (with --containers)")
    ] = None,
    machines: Annotated[
        int | None, typer.Option(help="only the first N machines of the usage file")
    ] = None,
    machine_memory: Annotated[
        str, typer.Option(help="memory of a machine with mem_size 100 (the trace normalises it)")
    ] = "512Gi",
    host_cores: Annotated[
        int | None, typer.Option(help="cores of the host model (default: 2x the largest machine)")
    ] = None,
    host_memory: Annotated[
        str | None, typer.Option(help="memory of the host model (default: 2x the largest machine)")
    ] = None,
    tenants: _Tenants = 1,
    name: Annotated[str, typer.Option(help="scenario name")] = "alibaba2018",
) -> None:
    """Turn the Alibaba cluster trace v2018 (machines, or containers by app group) into a
    scenario that replays their usage."""
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


@import_app.command()
def planetlab(
    folder: Annotated[Path, typer.Argument(help="a PlanetLab day folder, one file per VM")],
    output: _TraceOutput,
    limit: Annotated[int | None, typer.Option(help="only the first N files, by name")] = None,
    group: Annotated[int, typer.Option(help="N files per workload (replicas N)")] = 1,
    vm_cores: Annotated[int, typer.Option(help="cores that 100% of a VM means")] = 1,
    vm_memory: Annotated[str, typer.Option(help="memory of each VM (the trace has none)")] = "1Gi",
    host_cores: Annotated[int, typer.Option(help="cores of the host model to size with")] = 64,
    host_memory: Annotated[str, typer.Option(help="memory of the host model")] = "512Gi",
    tenants: _Tenants = 1,
    name: Annotated[str, typer.Option(help="scenario name")] = "planetlab",
) -> None:
    """Turn PlanetLab VM CPU traces (as shipped with CloudSim) into a scenario that replays them."""
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


if __name__ == "__main__":  # pragma: no cover
    main()
