"""``underlay import …``: the verbs that turn real inputs into a scenario file to edit.

``openb`` writes one scenario (to stdout or ``--output``); the trace importers
(``bitbrains``, ``alibaba2018``, ``planetlab``) write a scenario and, beside it, the trace
it replays, both or neither. No output may replace one of its inputs. Kubernetes dumps
are :mod:`.import_kubectl`'s; a live cluster and its Prometheus are :mod:`.import_live`'s.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from underlay.cli.app import import_app
from underlay.cli.help import Command
from underlay.cli.output import err, fail, note, write_atomically
from underlay.errors import UnderlayError
from underlay.files import refuse_overwrite

__all__ = [
    "ReadProgress",
    "ScenarioOutput",
    "TraceOutput",
    "alibaba2018",
    "bitbrains",
    "openb",
    "planetlab",
    "run_trace_import",
    "write_scenario",
]


def write_scenario(output: Path | None, text: str, summary: str | None = None) -> None:
    """An imported scenario to ``output`` (whole or not at all), with a note of what was
    written, or to stdout when no output is given."""
    if output is None:
        sys.stdout.write(text)
        return
    try:
        write_atomically(output, text)
    except UnderlayError as exc:
        raise fail(exc) from None
    note(f"Wrote {output}{f': {summary}' if summary else ''}. Review its header.")


ScenarioOutput = Annotated[
    Path | None,
    typer.Option("--output", "-o", metavar="FILE", help="write the scenario here, not stdout"),
]
_Name = Annotated[str, typer.Option(metavar="NAME", help="scenario name")]
_Cores = Annotated[int, typer.Option(metavar="CORES", help="cores of the host model to size with")]
_Memory = Annotated[str, typer.Option(metavar="MEMORY", help="memory of the host model")]


@import_app.command(cls=Command)
def openb(
    nodes: Annotated[Path, typer.Option("--nodes", metavar="FILE", help="openb node list CSV")],
    pods: Annotated[Path, typer.Option("--pods", metavar="FILE", help="openb pod list CSV")],
    output: ScenarioOutput = None,
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
    except UnderlayError as exc:
        raise fail(exc) from None
    write_scenario(output, text)


TraceOutput = Annotated[
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


class ReadProgress:
    """A progress bar on stderr while a trace importer reads its files (only on a
    terminal); the importer calls it as ``progress(done, total)``."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._bar: Progress | None = None
        self._task = 0

    def __enter__(self) -> ReadProgress:
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


def run_trace_import(
    output: Path,
    inputs: list[tuple[str, Path]],
    what: str,
    build: Callable[[str, ReadProgress], Any],
) -> None:
    """Run an importer (``build(trace file name, progress)``) and write the scenario and its
    trace together; bad input → exit 2, nothing written. Neither output may replace one
    of the ``inputs`` (``(label, path)``) or land in an input folder."""
    from underlay.importers.trace_import import trace_path_for, write_import

    trace = trace_path_for(output)
    try:
        refuse_overwrite("--output", output, inputs)
        refuse_overwrite(f"--output {output}: its trace", trace, inputs)
        with ReadProgress(what) as progress:
            result = build(trace.name, progress)
        write_import(output, result)
    except UnderlayError as exc:
        raise fail(exc) from None
    note(f"Wrote {output} and {trace}: {result.summary}. Review its header.")


@import_app.command(cls=Command)
def bitbrains(
    paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="PATH", help="Bitbrains VM files (GWA-T-12 .csv), or folders of them"
        ),
    ],
    output: TraceOutput,
    host_cores: _Cores = 64,
    host_memory: _Memory = "512Gi",
    tenants: _Tenants = 1,
    name: _Name = "bitbrains",
) -> None:
    """Turn Bitbrains VM traces (GWA-T-12) into a scenario.

    The scenario replays each VM's usage from a trace file written beside it."""
    from underlay.importers.bitbrains import bitbrains_import

    run_trace_import(
        output,
        [("input", p) for p in paths],
        "Bitbrains files",
        lambda trace_file, progress: bitbrains_import(
            paths,
            trace_file=trace_file,
            name=name,
            host_cores=host_cores,
            host_memory=host_memory,
            tenants=tenants,
            progress=progress,
        ),
    )


@import_app.command(cls=Command)
def alibaba2018(
    usage: Annotated[
        Path, typer.Option("--usage", metavar="FILE", help="machine_usage.csv (no header)")
    ],
    meta: Annotated[
        Path, typer.Option("--meta", metavar="FILE", help="machine_meta.csv (no header)")
    ],
    output: TraceOutput,
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

    optional = [("--containers", containers), ("--container-meta", container_meta)]
    inputs = [("--usage", usage), ("--meta", meta)]
    inputs += [(flag, p) for flag, p in optional if p is not None]
    run_trace_import(
        output,
        inputs,
        usage.name,
        lambda trace_file, progress: alibaba2018_import(
            usage,
            meta,
            trace_file=trace_file,
            containers_path=containers,
            container_meta_path=container_meta,
            machines=machines,
            machine_memory=machine_memory,
            host_cores=host_cores,
            host_memory=host_memory,
            tenants=tenants,
            name=name,
            progress=progress,
        ),
    )


@import_app.command(cls=Command)
def planetlab(
    folder: Annotated[
        Path, typer.Argument(metavar="DAY", help="a PlanetLab day folder, one file per VM")
    ],
    output: TraceOutput,
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

    run_trace_import(
        output,
        [("input", folder)],
        "PlanetLab files",
        lambda trace_file, progress: planetlab_import(
            folder,
            trace_file=trace_file,
            limit=limit,
            group=group,
            vm_cores=vm_cores,
            vm_memory=vm_memory,
            host_cores=host_cores,
            host_memory=host_memory,
            tenants=tenants,
            name=name,
            progress=progress,
        ),
    )
