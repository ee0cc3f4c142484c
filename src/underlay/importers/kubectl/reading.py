"""The command line's side of the import: dump paths read (:mod:`.layouts`) into one
cluster's parsed objects, and ``--cluster NAME=NODES[,PODS[,NS]]`` read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from underlay.errors import InputError
from underlay.importers.kubectl.api import cluster_data
from underlay.importers.kubectl.builder import _ClusterData
from underlay.importers.kubectl.cursor import _At
from underlay.importers.kubectl.layouts import Dump, read_dump
from underlay.importers.kubectl.tenancy import TenantRules

__all__ = ["ClusterPaths", "parse_cluster_option", "read_cluster"]


@dataclass(frozen=True)
class ClusterPaths:
    """Where one cluster's dumps are: ``pods`` and ``namespaces`` optional."""

    name: str | None
    nodes: Path
    pods: Path | None = None
    namespaces: Path | None = None
    pdbs: Path | None = None


def parse_cluster_option(text: str) -> ClusterPaths:
    """``NAME=NODES[,PODS[,NAMESPACES]]`` (each a file, folder or archive)."""
    name, equals, rest = text.partition("=")
    parts = rest.split(",") if equals else []
    if not name.strip() or not parts or not parts[0].strip() or len(parts) > 3:
        raise InputError(
            f"--cluster: expected NAME=NODES[,PODS[,NAMESPACES]], got {text!r} (e.g. "
            "--cluster prod-eu=eu/nodes.json,eu/pods.json, or --cluster prod-us=us-must-gather/)"
        )
    paths = [Path(p.strip()) if p.strip() else None for p in parts] + [None, None]
    assert paths[0] is not None
    return ClusterPaths(name.strip(), paths[0], paths[1], paths[2])


class _Dumps:
    """Each path read once, even when it is given for nodes and for pods."""

    def __init__(self) -> None:
        self.read: dict[Path, Dump] = {}

    def get(self, path: Path, kind: str) -> Dump:
        key = path.resolve() if path.exists() else path
        dump = self.read.get(key)
        if dump is None or (not dump.tree and not dump.of(kind)):
            dump = read_dump(path, kind)
            self.read[key] = dump
        return dump


def read_cluster(paths: ClusterPaths, rules: TenantRules) -> _ClusterData:
    """One cluster's objects from its dumps (see :mod:`.layouts` for the layouts)."""
    dumps = _Dumps()
    where = f"--cluster {paths.name}: " if paths.name else ""
    nodes_dump = dumps.get(paths.nodes, "Node")
    nodes = nodes_dump.require("Node", f"{where}--nodes")
    pods_path = paths.pods
    if pods_path is None:
        if not nodes_dump.tree and not nodes_dump.of("Pod"):
            raise InputError(
                f"{where}--pods: missing; give the pods (`kubectl get pods -A -o json`), or a "
                "folder or archive that holds nodes and pods as --nodes"
            )
        pods_path = paths.nodes
    pods_dump = dumps.get(pods_path, "Pod")
    pods = pods_dump.require("Pod", f"{where}--pods")
    trees = [d for d in dumps.read.values() if d.tree]
    read = list(dumps.read.values())  # a tree, or a file of several kinds

    def extra(path: Path | None, kind: str, option: str) -> list[_At]:
        if path is not None:
            return dumps.get(path, kind).require(kind, option)
        return [obj for dump in read for obj in dump.of(kind)]

    namespaces = extra(paths.namespaces, "Namespace", f"{where}--namespaces")
    pdbs = extra(paths.pdbs, "PodDisruptionBudget", f"{where}--pdbs")
    notes = [f"{d.path}: {note}" for d in dumps.read.values() for note in d.notes]
    version = next((d.server_version for d in trees if d.server_version), None)
    return cluster_data(
        paths.name,
        nodes,
        pods,
        pdbs,
        namespaces,
        rules,
        server_version=version,
        notes=notes,
        sources=(str(paths.nodes), str(pods_path)),
    )
