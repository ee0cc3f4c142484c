"""``underlay import cluster`` and ``import prometheus``: a live cluster (read-only,
through the official client) into a scenario, and the usage its Prometheus measured into
that scenario's trace."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import TaskID

from underlay.cli.app import import_app
from underlay.cli.help import Command
from underlay.cli.import_verbs import (
    ReadProgress,
    ScenarioOutput,
    TraceOutput,
    run_trace_import,
    write_scenario,
)
from underlay.cli.output import fail
from underlay.cli.tenant_options import (
    PlatformNamespaceOption,
    TenantAnnotationOption,
    TenantLabelOption,
    TenantPatternOption,
    tenant_rules,
)
from underlay.errors import UnderlayError
from underlay.files import refuse_overwrite

__all__ = ["cluster", "prometheus"]


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
    output: ScenarioOutput = None,
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
    except UnderlayError as exc:
        raise fail(exc) from None
    write_scenario(output, result.text, result.summary)


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
    output: TraceOutput,
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
            output_dir=output.parent,
        )

    run_trace_import(output, inputs, "Prometheus", build)
