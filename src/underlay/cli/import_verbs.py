"""``underlay import …``: the verbs that turn real inputs into a scenario file to edit.

``kubectl`` (dumps in any common layout, one cluster or several) and ``openb`` write one scenario (to stdout or ``--output``); the trace
importers (``bitbrains``, ``alibaba2018``, ``planetlab``) write a scenario and, beside it,
the trace it replays, both or neither. No output may replace one of its inputs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from underlay.cli.app import import_app
from underlay.cli.help import Command
from underlay.cli.output import err, fail, note, write_atomically
from underlay.cli.tenant_options import (
    PlatformNamespaceOption,
    TenantAnnotationOption,
    TenantLabelOption,
    TenantPatternOption,
    tenant_rules,
)
from underlay.errors import InputError, UnderlayError
from underlay.files import refuse_overwrite

__all__ = [
    "ReadProgress",
    "alibaba2018",
    "bitbrains",
    "cluster",
    "kubectl",
    "openb",
    "planetlab",
    "prometheus",
]

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
        Path | None,
        typer.Option(
            "--nodes",
            metavar="PATH",
            help="`kubectl get nodes -o json|yaml`, or a dump folder or archive (must-gather, sonobuoy)",
        ),
    ] = None,
    pods: Annotated[
        Path | None,
        typer.Option(
            "--pods",
            metavar="PATH",
            help="`kubectl get pods -A -o json|yaml`, or a dump folder or archive (default: --nodes when it is one)",
        ),
    ] = None,
    namespaces: Annotated[
        Path | None,
        typer.Option(
            "--namespaces",
            metavar="PATH",
            help="`kubectl get namespaces -o json` (for --tenant-label / --tenant-annotation)",
        ),
    ] = None,
    pdbs: Annotated[
        Path | None,
        typer.Option(
            "--pdbs", metavar="PATH", help="`kubectl get pdb -A -o json`: disruption budgets"
        ),
    ] = None,
    cluster: Annotated[
        list[str] | None,
        typer.Option(
            "--cluster",
            metavar="NAME=NODES[,PODS[,NS]]",
            help="one cluster of several (instead of --nodes/--pods); repeatable",
        ),
    ] = None,
    tenant_from: Annotated[
        str,
        typer.Option(
            "--tenant-from",
            metavar="namespace|label:KEY",
            help="tenants from the namespace or from a pod label",
        ),
    ] = "namespace",
    tenant_label: TenantLabelOption = None,
    tenant_annotation: TenantAnnotationOption = None,
    tenant_pattern: TenantPatternOption = None,
    platform_namespace: PlatformNamespaceOption = None,
    output: _ScenarioOutput = None,
    name: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            help="scenario name (default: the --output file's stem, or kubectl-import)",
        ),
    ] = None,
) -> None:
    """Turn kubectl dumps of nodes and pods into a scenario.

    From `kubectl get nodes` and `kubectl get pods -A` (JSON or YAML), a must-gather or
    support-archive folder, or sonobuoy's results tarball: a scenario file to review and
    edit. Several clusters: --cluster NAME=NODES[,PODS[,NS]], repeated."""
    from underlay.importers.kubectl import (
        import_kubectl,
        import_kubectl_clusters,
        parse_cluster_option,
    )

    try:
        rules = tenant_rules(tenant_label, tenant_annotation, tenant_pattern, platform_namespace)
        clusters = [parse_cluster_option(c) for c in cluster or []]
        given = [
            ("--nodes", nodes),
            ("--pods", pods),
            ("--namespaces", namespaces),
            ("--pdbs", pdbs),
        ]
        if clusters and any(p is not None for _, p in given):
            raise InputError(
                "--cluster and --nodes/--pods/--namespaces/--pdbs: give one cluster or several, "
                "not both (each --cluster takes its own NAME=NODES[,PODS[,NAMESPACES]])"
            )
        if not clusters and nodes is None:
            raise InputError(
                "--nodes: missing; give the nodes (`kubectl get nodes -o json`), a dump folder "
                "or archive, or --cluster NAME=NODES[,PODS[,NS]] for several clusters"
            )
        inputs = [(flag, p) for flag, p in given if p is not None]
        for c in clusters:
            inputs += [(f"--cluster {c.name}", p) for p in (c.nodes, c.pods, c.namespaces) if p]
        if output:
            refuse_overwrite("--output", output, inputs)
        scenario_name = name or (output.stem if output else None)
        if clusters:
            result = import_kubectl_clusters(
                clusters, tenant_from=tenant_from, rules=rules, name=scenario_name
            )
        else:
            assert nodes is not None
            result = import_kubectl(
                nodes,
                pods,
                tenant_from=tenant_from,
                rules=rules,
                namespaces=namespaces,
                pdbs=pdbs,
                name=scenario_name,
            )
        if output:
            write_atomically(output, result.text)
    except UnderlayError as exc:
        raise fail(exc) from None
    if output:
        note(f"Wrote {output}: {result.summary}. Review its header.")
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
        raise fail(exc) from None
    if output:
        note(f"Wrote {output}. Review its header.")
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


def _trace_import(
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

    optional = [("--containers", containers), ("--container-meta", container_meta)]
    inputs = [("--usage", usage), ("--meta", meta)]
    inputs += [(flag, p) for flag, p in optional if p is not None]
    _trace_import(
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


@import_app.command(cls=Command)
def cluster(
    kubeconfig: Annotated[
        Path | None,
        typer.Option(
            "--kubeconfig", metavar="FILE", help="kubeconfig (default: $KUBECONFIG, ~/.kube/config)"
        ),
    ] = None,
    context: Annotated[
        list[str] | None,
        typer.Option(
            "--context",
            metavar="NAME",
            help="kubeconfig context (default: the current one); repeat for several clusters",
        ),
    ] = None,
    selector: Annotated[
        str | None,
        typer.Option("--selector", "-l", metavar="SELECTOR", help="only pods with these labels"),
    ] = None,
    page_size: Annotated[
        int, typer.Option(metavar="N", min=1, max=10000, help="objects per list request")
    ] = 500,
    timeout: Annotated[
        float, typer.Option(metavar="SECONDS", min=0.1, help="read timeout of each request")
    ] = 60.0,
    print_role: Annotated[
        bool,
        typer.Option("--print-role", help="print the minimal ClusterRole it needs, and stop"),
    ] = False,
    tenant_label: TenantLabelOption = None,
    tenant_annotation: TenantAnnotationOption = None,
    tenant_pattern: TenantPatternOption = None,
    platform_namespace: PlatformNamespaceOption = None,
    output: _ScenarioOutput = None,
    name: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            help="scenario name (default: the --output file's stem, or cluster-import)",
        ),
    ] = None,
) -> None:
    """Read a live cluster (read-only) into a scenario.

    Lists nodes, pods and their owners, namespaces, disruption budgets and runtime classes
    through the official Kubernetes client; never writes to the cluster. Tenants are
    namespaces, or groups of them by a label, annotation or pattern; several contexts
    give one scenario whose tenants are <context>/<tenant>."""
    from underlay.importers.cluster import Limits, cluster_role_yaml, import_cluster

    if print_role:
        sys.stdout.write(cluster_role_yaml())
        return
    try:
        if output:
            refuse_overwrite(
                "--output", output, [("kubeconfig", k) for k in _kubeconfigs(kubeconfig)]
            )
        rules = tenant_rules(tenant_label, tenant_annotation, tenant_pattern, platform_namespace)
        progress = _StagedProgress("pods")
        with progress:
            result = import_cluster(
                kubeconfig,
                context or (),
                name=name or (output.stem if output else None),
                selector=selector,
                limits=Limits(page_size=page_size, read_timeout=timeout),
                progress=progress,
                stage=progress.stage,
                rules=rules,
            )
        if output:
            write_atomically(output, result.text)
    except UnderlayError as exc:
        raise fail(exc) from None
    if output:
        note(f"Wrote {output}: {result.summary}. Review its header.")
    else:
        sys.stdout.write(result.text)


class _StagedProgress(ReadProgress):
    """The trace importers' bar, whose label says what is being done."""

    def stage(self, text: str) -> None:
        """Say what is being done now (the bar's label)."""
        if self._bar is not None:
            self._bar.update(TaskID(self._task), description=text)


def _kubeconfigs(given: Path | None) -> list[Path]:
    """The kubeconfig files the client reads: ``--kubeconfig``, else ``$KUBECONFIG``'s
    list, else ``~/.kube/config``."""
    import os

    if given is not None:
        return [given]
    listed = [Path(p) for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    return listed or [Path.home() / ".kube" / "config"]


@import_app.command(cls=Command)
def prometheus(
    scenario: Annotated[
        Path,
        typer.Argument(
            metavar="SCENARIO", help="the cluster's scenario (import cluster or kubectl)"
        ),
    ],
    url: Annotated[
        str, typer.Option("--url", metavar="URL", help="Prometheus (or Thanos, VictoriaMetrics)")
    ],
    output: _TraceOutput,
    range_: Annotated[
        str, typer.Option("--range", metavar="DURATION", help="how far back, e.g. 7d")
    ] = "7d",
    step: Annotated[str, typer.Option(metavar="DURATION", help="one point every, e.g. 5m")] = "5m",
    end: Annotated[
        str | None,
        typer.Option(metavar="TIME", help="end of the range: Unix time or RFC 3339 (now)"),
    ] = None,
    bearer_token_file: Annotated[
        Path | None, typer.Option(metavar="FILE", help="send the token in this file")
    ] = None,
    user: Annotated[str | None, typer.Option(metavar="USER", help="basic auth user")] = None,
    password_file: Annotated[
        Path | None, typer.Option(metavar="FILE", help="basic auth password, in this file")
    ] = None,
    ca_file: Annotated[
        Path | None, typer.Option(metavar="FILE", help="CA certificate(s) to trust (PEM)")
    ] = None,
    insecure: Annotated[bool, typer.Option(help="do not check the TLS certificate")] = False,
    timeout: Annotated[
        float, typer.Option(metavar="SECONDS", help="per request to the server")
    ] = 60.0,
) -> None:
    """Replay your pods' usage as measured by Prometheus.

    Per pod CPU and memory (cAdvisor) joined to the scenario's workloads (kube-state-metrics
    owners); the scenario is written again, its workloads replaying a trace beside it."""
    import time

    from underlay.importers.prometheus import connection, prometheus_import
    from underlay.importers.prometheus.queries import duration_seconds, end_time

    inputs = [("SCENARIO", scenario)]
    inputs += [
        (f, p)
        for f, p in (
            ("--bearer-token-file", bearer_token_file),
            ("--password-file", password_file),
            ("--ca-file", ca_file),
        )
        if p is not None
    ]

    def build(trace_file: str, progress: ReadProgress) -> Any:
        conn = connection(
            url,
            timeout_s=timeout,
            bearer_token_file=bearer_token_file,
            user=user,
            password_file=password_file,
            ca_file=ca_file,
            insecure=insecure,
        )
        return prometheus_import(
            scenario,
            conn,
            trace_file=trace_file,
            range_s=duration_seconds("--range", range_),
            step_s=duration_seconds("--step", step),
            end_s=end_time(end, time.time()),
            progress=progress,
        )

    _trace_import(output, inputs, "Prometheus", build)
