"""A hybrid substrate: each part placed by its own rules on its own pool, as one fleet.

Each part is an ordinary substrate run on the scenario cut down to the part's tenants
(same hardware, same placement settings), so a part holding every tenant places exactly
as that pure substrate does. The parts' results are then laid end to end into one
:class:`~underlay.placement.result.SubstratePlacement`: hosts of part 2 follow those of
part 1, node, cluster and workload indices are mapped back to the whole scenario's, and
:attr:`~underlay.placement.result.SubstratePlacement.parts` says which rows are whose.

Hosts: without ``hardware.inventory`` every part draws hosts from a pool of its own,
sized by underlay; with one, the parts draw from it in file order, each taking its hosts
from what the parts before it left (a host is a bare-metal host of one part or a
hypervisor host of one vm part, never both, never counted twice). A part whose
``hosts`` names host models draws only hosts of those models, sized or from the
inventory (its placement runs on the scenario cut down to them; its host rows are mapped
back to the whole scenario's models). Racks are shared, each part filling racks
round-robin from the first, so the parts' hosts mix in racks; a part naming its
``racks`` fills only those (placed with that many racks, its host rows then mapped to
them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from underlay.model.scenario import Hybrid, InventoryEntry, Scenario, workload_key
from underlay.placement.control_planes import ControlPlane
from underlay.placement.fleet import HostTable
from underlay.placement.result import (
    NodeTable,
    PlacementPart,
    SubstratePlacement,
    Unplaced,
)
from underlay.placement.substrates.build import flatten

__all__ = ["PartCut", "PlacePart", "part_scenarios", "place_hybrid"]

I64 = NDArray[np.int64]
Peaks = tuple[NDArray[np.float64], NDArray[np.float64]]
PlacePart = Callable[[Scenario, str, Peaks | None], SubstratePlacement]


@dataclass(frozen=True)
class PartCut:
    """One part's share of the scenario: the scenario cut down to it, and where its
    tenants, clusters and workloads sit in the whole scenario."""

    scenario: Scenario
    tenants: list[int]  # scenario tenant indices (a tenant split by GPU: in two parts)
    clusters: list[int]  # whole-scenario index of each cluster of the cut, in its order
    workloads: list[int]  # whole-scenario index of each workload of the cut, in its order


def part_scenarios(scenario: Scenario, hybrid: Hybrid) -> list[PartCut]:
    """Per part: the scenario cut down to the part's substrate and the workloads that go
    there (a tenant's GPU workloads, or those a part names or selects by label, may go to
    another part than the rest); a tenant's
    cluster left with no workload in a part is not in that part."""
    clusters, workloads = flatten(scenario)
    where = [
        hybrid.workload_part(
            scenario.tenants[w.tenant_index].name,
            scenario.tenants[w.tenant_index].isolation,
            w.workload.gpu_count,
            workload_key(
                scenario.tenants[w.tenant_index].name,
                clusters[w.cluster_index].cluster.name,
                w.workload.name,
            ),
            w.workload.labels,
        )
        for w in workloads
    ]
    out = []
    for pi, part in enumerate(hybrid.parts):
        kept = [w for w in workloads if where[w.index] == pi]
        c_index = sorted({w.cluster_index for w in kept})
        tenants = sorted({clusters[c].tenant_index for c in c_index})
        cut_tenants = []
        for ti in tenants:
            tenant = scenario.tenants[ti]
            cut_clusters = [
                c.cluster.model_copy(
                    update={"workloads": [w.workload for w in kept if w.cluster_index == c.index]}
                )
                for c in clusters
                if c.tenant_index == ti and c.index in c_index
            ]
            cut_tenants.append(tenant.model_copy(update={"clusters": cut_clusters}))
        # model_copy keeps the private attributes (base folder, traces already read)
        cut = scenario.model_copy(update={"tenants": cut_tenants, "substrates": [part.substrate]})
        out.append(PartCut(cut, tenants, c_index, [w.index for w in kept]))
    return out


def place_hybrid(
    scenario: Scenario,
    hybrid: Hybrid,
    label: str,
    place_part: PlacePart,
    peaks: Peaks | None = None,
) -> SubstratePlacement:
    """Place each part of ``hybrid`` with ``place_part(part scenario, part label, peaks)``
    and combine the parts into one fleet placement named ``label``."""
    pieces: list[tuple[SubstratePlacement, PartCut, str]] = []
    left = _Inventory(scenario)
    for cut, part in zip(part_scenarios(scenario, hybrid), hybrid.parts, strict=True):
        if not cut.workloads:
            continue
        w_index = cut.workloads
        part_peaks = None if peaks is None else (peaks[0][w_index], peaks[1][w_index])
        sub_label = part.substrate.name or part.substrate.kind
        own, note = _own_models(cut.scenario, part.hosts)
        placed = place_part(_own_racks(left.cut(own), part.racks), sub_label, part_peaks)
        if own is not cut.scenario:
            placed = _in_whole_models(placed, scenario, part.hosts, note)
        if part.racks:
            # the part filled racks 0 .. len(racks) - 1 round-robin: they are its racks
            racks = [part.racks[r] - 1 for r in placed.hosts.rack]
            placed = replace(placed, hosts=replace(placed.hosts, rack=racks))
        left.take(placed)
        pieces.append((placed, cut, part.name))
    return _combine(scenario, label, pieces)


def _own_models(part: Scenario, hosts: list[str]) -> tuple[Scenario, str]:
    """``part`` with only the host models ``hosts`` names (all when empty or when it names
    them all: then ``part`` itself), and a note when the control-plane model is not among
    them. The part buys (when sizing) ``hardware.size_with`` if it may use it, else the
    first model of ``hosts``; ``hardware.control_plane_model`` only if ``hosts`` names it,
    else its control planes run as without one."""
    hw = part.hardware
    if not hosts or {m.name for m in hw.host_models} <= set(hosts):
        return part, ""
    models = [m for m in hw.host_models if m.name in hosts]
    size_with = hw.sizing_model.name if hw.sizing_model.name in hosts else hosts[0]
    cp = hw.control_plane_model
    note = ""
    if cp is not None and cp not in hosts:
        note = (
            f"hardware.control_plane_model {cp} is not one of the part's hosts "
            f"({', '.join(hosts)}): its control planes run as without one"
        )
        cp = None
    update = {"host_models": models, "size_with": size_with, "control_plane_model": cp}
    return part.model_copy(update={"hardware": hw.model_copy(update=update)}), note


def _own_racks(part: Scenario, racks: list[int]) -> Scenario:
    """``part`` with as many racks as ``racks`` names (``part`` itself when none)."""
    if not racks:
        return part
    hw = part.hardware
    topology = hw.topology.model_copy(update={"racks": len(racks)})
    return part.model_copy(update={"hardware": hw.model_copy(update={"topology": topology})})


def _in_whole_models(
    placed: SubstratePlacement, scenario: Scenario, hosts: list[str], note: str
) -> SubstratePlacement:
    """``placed`` (on a part cut to the host models ``hosts``) with its hosts' models as
    indices into the whole scenario's host models, and its unplaced pods saying which
    models the part may use."""
    names = [m.name for m in scenario.hardware.host_models]
    to_whole = [names.index(name) for name in placed.host_models]
    table = replace(placed.hosts, model=[to_whole[m] for m in placed.hosts.model])
    only = f"part may use host models {', '.join(hosts)} only"
    unplaced = [
        replace(
            u, reason=replace(u.reason, detail="; ".join(filter(None, [u.reason.detail, only])))
        )
        for u in placed.unplaced
    ]
    notes = [note, *placed.notes] if note else placed.notes
    return replace(placed, host_models=names, hosts=table, unplaced=unplaced, notes=notes)


class _Inventory:
    """The hosts of ``hardware.inventory`` the parts have not taken yet (parts draw in
    file order; a host taken by one part, as bare metal or as a hypervisor host, is gone
    for the next). Without an inventory every part sizes its own pool."""

    def __init__(self, scenario: Scenario) -> None:
        hardware = scenario.hardware
        self.names = [m.name for m in hardware.host_models]
        self.left: list[int] | None = None
        self.racks = hardware.topology.racks
        if hardware.inventory is not None:
            self.left = [0] * len(self.names)
            for e in hardware.inventory:
                self.left[self.names.index(e.model)] += e.count
            # the whole inventory sets the racks, so every part fills the same ones
            per_rack = hardware.topology.hosts_per_rack
            self.racks = self.racks or max(1, -(-sum(self.left) // per_rack))

    def cut(self, part: Scenario) -> Scenario:
        """``part`` with what is left of the inventory, of the host models ``part`` has
        (a part restricted to some models: those only), as its inventory."""
        if self.left is None:
            return part
        hw = part.hardware
        own = {m.name for m in hw.host_models}
        entries = [
            InventoryEntry.model_construct(model=name, count=n)
            for name, n in zip(self.names, self.left, strict=True)
            if n > 0 and name in own
        ]
        topology = hw.topology.model_copy(update={"racks": self.racks})
        return part.model_copy(
            update={"hardware": hw.model_copy(update={"inventory": entries, "topology": topology})}
        )

    def take(self, placed: SubstratePlacement) -> None:
        """Hosts the part ``placed`` opened are no longer left."""
        if self.left is not None:
            for m in placed.hosts.model:
                self.left[m] -= 1


def _combine(
    scenario: Scenario,
    label: str,
    pieces: list[tuple[SubstratePlacement, PartCut, str]],
) -> SubstratePlacement:
    """The parts laid end to end, their indices mapped to the whole scenario's."""
    all_clusters, all_workloads = flatten(scenario)
    fleet = _Fleet(len(all_workloads))
    for p, cut, name in pieces:
        c_map = np.array(cut.clusters, np.int64)
        fleet.add_part(p, c_map, cut.workloads, PlacementPart(
            name, p.kind, p.name, tuple(cut.tenants),
            (len(fleet.hosts), len(fleet.hosts) + len(p.hosts)),
            (fleet.n_nodes, fleet.n_nodes + len(p.nodes)), tuple(cut.workloads),
            p.shared_version,
        ))  # fmt: skip
    cols = [np.concatenate(a) if a else np.zeros(0, np.int64) for a in fleet.host_columns]
    return SubstratePlacement(
        kind="hybrid",
        name=label,
        host_models=[m.name for m in scenario.hardware.host_models],
        hosts=fleet.hosts,
        host_cpu=cols[0],
        host_mem=cols[1],
        host_gpus=cols[2],
        host_hypervisor_cpu=cols[3],
        host_hypervisor_mem=cols[4],
        nodes=NodeTable.concat(fleet.tables),
        clusters=all_clusters,
        workloads=all_workloads,
        placed=fleet.placed,
        pod_nodes=fleet.pod_nodes,
        pod_counts=fleet.pod_counts,
        pod_devices=fleet.pod_devices,
        unplaced=sorted(fleet.unplaced, key=lambda u: u.workload_index),
        shared_version=fleet.shared_version,
        sizing=all(p.sizing for p, _, _ in pieces),
        lower_bound_hosts=fleet.lower_bound,
        lower_bound_hosts_any_gpu=fleet.lower_bound_any_gpu,
        notes=fleet.notes,
        control_planes=sorted(fleet.control_planes, key=lambda c: c.cluster),
        parts=fleet.parts,
    )


class _Fleet:
    """The combined placement as it grows, one part at a time."""

    def __init__(self, n_workloads: int) -> None:
        empty = np.zeros(0, np.int64)
        self.placed = np.zeros(n_workloads, np.int64)
        self.pod_nodes: list[I64] = [empty] * n_workloads
        self.pod_counts: list[I64] = [empty] * n_workloads
        self.pod_devices: list[I64] = [empty] * n_workloads
        self.hosts = HostTable()
        self.host_columns: list[list[I64]] = [[], [], [], [], []]
        self.tables: list[NodeTable] = []
        self.unplaced: list[Unplaced] = []
        self.notes: list[str] = []
        self.control_planes: list[ControlPlane] = []
        self.parts: list[PlacementPart] = []
        self.shared_version: str | None = None
        self.lower_bound = 0
        self.lower_bound_any_gpu = 0
        self.n_nodes = 0

    def add_part(
        self, p: SubstratePlacement, c_map: I64, w_map: list[int], part: PlacementPart
    ) -> None:
        """Append part placement ``p`` (its cluster i is ``c_map[i]``, its workload k is
        ``w_map[k]`` of the whole scenario)."""
        n_hosts = len(self.hosts)
        self.hosts.model += p.hosts.model
        self.hosts.rack += p.hosts.rack
        self.hosts.role += p.hosts.role
        self.hosts.owner += _remap(np.asarray(p.hosts.owner, np.int64), c_map).tolist()
        columns = (
            p.host_cpu,
            p.host_mem,
            p.host_gpus,
            p.host_hypervisor_cpu,
            p.host_hypervisor_mem,
        )
        for i, col in enumerate(columns):
            self.host_columns[i].append(col)
        host = np.where(p.nodes.host >= 0, p.nodes.host + n_hosts, p.nodes.host)
        self.tables.append(replace(p.nodes, host=host, cluster=_remap(p.nodes.cluster, c_map)))
        for k, g in enumerate(w_map):
            self.placed[g] = p.placed[k]
            self.pod_nodes[g] = p.pod_nodes[k] + self.n_nodes
            self.pod_counts[g] = p.pod_counts[k]
            self.pod_devices[g] = p.pod_devices[k]
        self.unplaced += [Unplaced(w_map[u.workload_index], u.pods, u.reason) for u in p.unplaced]
        self.notes += [f"part {part.name}: {n}" for n in p.notes]
        self.control_planes += [
            replace(c, cluster=int(_remap(np.array([c.cluster], np.int64), c_map)[0]))
            for c in p.control_planes
        ]
        # each shared part keeps its own version (PlacementPart); the fleet's is the first
        self.shared_version = self.shared_version or p.shared_version
        self.lower_bound += p.lower_bound_hosts
        self.lower_bound_any_gpu += p.lower_bound_hosts_any_gpu
        self.parts.append(part)
        self.n_nodes += len(p.nodes)


def _remap(index: I64, mapping: I64) -> I64:
    """Part cluster indices (>= 0) as the whole scenario's; shared markers (< 0) kept:
    which part's shared cluster or hosted pool a row is, its part's rows say."""
    if len(mapping) == 0:
        return index.copy()
    safe = np.clip(index, 0, len(mapping) - 1)
    return np.where(index >= 0, mapping[safe], index)
