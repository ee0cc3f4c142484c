"""``underlay import kubectl``: Kubernetes dumps (any common layout, one cluster or
several) into one scenario, to stdout or ``--output``; no output may replace an input."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from underlay.cli.app import import_app
from underlay.cli.help import Command
from underlay.cli.import_verbs import ScenarioOutput, write_scenario
from underlay.cli.output import fail
from underlay.cli.tenant_options import (
    PlatformNamespaceOption,
    TenantAnnotationOption,
    TenantLabelOption,
    TenantPatternOption,
    tenant_rules,
)
from underlay.errors import InputError, UnderlayError
from underlay.files import refuse_overwrite

__all__ = ["kubectl"]


_NodesPath = Annotated[
    Path | None,
    typer.Option(
        "--nodes",
        metavar="PATH",
        help="`kubectl get nodes -o json|yaml`, or a dump folder or archive (must-gather, sonobuoy)",
    ),
]
_PodsPath = Annotated[
    Path | None,
    typer.Option(
        "--pods",
        metavar="PATH",
        help="`kubectl get pods -A -o json|yaml`, or a dump folder or archive (default: --nodes when it is one)",
    ),
]
_NamespacesPath = Annotated[
    Path | None,
    typer.Option(
        "--namespaces",
        metavar="PATH",
        help="`kubectl get namespaces -o json` (for --tenant-label / --tenant-annotation)",
    ),
]
_PdbsPath = Annotated[
    Path | None,
    typer.Option("--pdbs", metavar="PATH", help="`kubectl get pdb -A -o json`: disruption budgets"),
]
_Clusters = Annotated[
    list[str] | None,
    typer.Option(
        "--cluster",
        metavar="NAME=NODES[,PODS[,NS]]",
        help="one cluster of several (instead of --nodes/--pods); repeatable",
    ),
]
_TenantFrom = Annotated[
    str,
    typer.Option(
        "--tenant-from",
        metavar="namespace|label:KEY",
        help="tenants from the namespace or from a pod label",
    ),
]
_ImportName = Annotated[
    str | None,
    typer.Option(
        metavar="NAME", help="scenario name (default: the --output file's stem, or kubectl-import)"
    ),
]


@import_app.command(cls=Command)
def kubectl(
    nodes: _NodesPath = None,
    pods: _PodsPath = None,
    namespaces: _NamespacesPath = None,
    pdbs: _PdbsPath = None,
    cluster: _Clusters = None,
    tenant_from: _TenantFrom = "namespace",
    tenant_label: TenantLabelOption = None,
    tenant_annotation: TenantAnnotationOption = None,
    tenant_pattern: TenantPatternOption = None,
    platform_namespace: PlatformNamespaceOption = None,
    output: ScenarioOutput = None,
    name: _ImportName = None,
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
    except UnderlayError as exc:
        raise fail(exc) from None
    write_scenario(output, result.text, result.summary)
