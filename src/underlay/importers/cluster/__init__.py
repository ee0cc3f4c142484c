"""Import a live cluster, read-only, through the official ``kubernetes`` client.

``underlay import cluster [--kubeconfig F] [--context C ...]`` reads, cluster-wide and
with ``list`` only (:data:`~.reads.READS`; the minimal ClusterRole is
:func:`~.reads.cluster_role_yaml`): Nodes, Pods, Namespaces, ReplicaSets and Jobs (to
trace a pod to its Deployment or CronJob), PodDisruptionBudgets, RuntimeClasses, and
``GET /version``. Nothing else is called.

Reading (:mod:`.fetch`)
    Pages of 500 (``limit`` / ``continue``); an expired continue token (410) restarts that
    list; timeouts (10 s connect, 60 s read) and up to 4 tries with doubling backoff on
    5xx, 429, timeouts and broken connections; a 403 on nodes or pods is an error, on
    any other kind a warning in the header, and the rest is imported.

Cutting (:mod:`.slim`)
    Each object is cut to the fields a scenario needs as its page arrives, which keeps
    100k pods small and every secret (environment, annotations, tokens) out of the output.

Building (:mod:`.build`)
    The kubectl importer's builder makes the scenario (its mapping rules apply; see
    :mod:`underlay.importers.kubectl`), with a header naming each cluster, its version,
    its disruption budgets and runtime classes, and what could not be read. Several
    contexts make one scenario; their tenants are ``<context>-<namespace>``.

A bad answer (an HTML page, truncated JSON, a wrong type) raises
:class:`~underlay.errors.TraceError` naming the cluster and the request; an unusable
kubeconfig or an unreachable cluster, :class:`~underlay.errors.InputError`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from underlay.errors import InputError
from underlay.importers.cluster.build import build_from_reads
from underlay.importers.cluster.fetch import Connection, Limits, Progress
from underlay.importers.cluster.read import read_cluster
from underlay.importers.cluster.reads import READS, VERSION_PATHS, cluster_role_yaml
from underlay.importers.kubectl import KubectlImport
from underlay.importers.kubectl.tenancy import TenantRules
from underlay.importers.trace_import import name_option

__all__ = ["READS", "VERSION_PATHS", "Limits", "cluster_role_yaml", "import_cluster"]


def import_cluster(
    kubeconfig: Path | None = None,
    contexts: Sequence[str] = (),
    *,
    name: str | None = None,
    selector: str | None = None,
    limits: Limits | None = None,
    progress: Progress | None = None,
    stage: Callable[[str], None] | None = None,
    rules: TenantRules | None = None,
) -> KubectlImport:
    """Read each context (the current one when none is given) and build one scenario.

    ``selector`` is a label selector for the pods (``team=web,tier!=batch``);
    ``progress(pods read, pods in all)`` follows the pod lists, and ``stage(text)`` is
    told what is being done (for a progress bar's label); ``rules`` group namespaces
    into tenants and name the platform's, as for ``import kubectl``."""
    say = stage or (lambda _: None)
    if name is not None:
        name_option(name)
    if len(set(contexts)) != len(contexts):
        raise InputError("--context: each context may be given once")
    reads = []
    wanted: list[str | None] = [*contexts] or [None]
    for context in wanted:
        connection = Connection(kubeconfig, context, limits or Limits())
        say(f"reading {connection.describe()}")
        reads.append(read_cluster(connection, selector=selector, progress=progress))
    say("building the scenario")
    return build_from_reads(reads, rules, name=name or "cluster-import")
