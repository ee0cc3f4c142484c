"""The measured figures the decision stands on, gathered as (tenants × substrates) arrays.

Every number here comes from an earlier stage — placement and the static analysis, the
simulation, the isolation, failure, lifecycle and cost analyses — and keeps its unit; the
scorecard, the optimiser, the Pareto frontier, the sensitivity and the reports read it,
so a score can always be traced back to the figure behind it. A stage that did not run
leaves its arrays at a neutral value (e.g. SLA met, latency inflation 1) and says
so in ``missing``.

Per substrate: ``gpu_efficiency`` (its GPU mode's work vs bare metal, static); on a
``vm``, the hosts' CPU and memory (``host_cpu``, ``host_mem``), what the hypervisor keeps
of them (``hypervisor_cpu``, ``hypervisor_mem``) and what the VMs take (``vm_cpu``,
``vm_mem``: their sizes ÷ overcommit, plus per-VM memory overhead), all summed over the
hosts opened (millicores, MiB; 0 elsewhere). Per tenant: ``uses_gpu``.

Per tenant ``t`` on substrate ``s``:

- ``cost``: USD a month attributed to the tenant (the cost analysis, power at the
  simulated load when there was a simulation; else the static analysis);
- ``throughput``: work per resource vs bare metal (simulation, by workload class; else the
  substrate's CPU or GPU efficiency); ``latency_p95``: p95 latency inflation of its
  latency-sensitive pods (× an idle host); ``unmet``: share of CPU demand not granted;
  ``gpu_unmet``: share of the GPU time it wanted and did not get (time-sliced GPUs shared
  with neighbours, or pods never placed); ``slowdown``: share of the work of the CPU
  granted lost to other tenants' load on shared
  caches and memory bandwidth (simulation; 0 without one);
- ``exposure``: other tenants' escapes reaching its pods a year; ``violations``: isolation
  rule violations it is part of;
- ``sla_probability``: share of
  failure years meeting its availability SLA; ``cpu_sla``: share of steps meeting its CPU
  SLA (%);
- ``months_off_version``, ``forced_upgrades``, ``months_unsupported``: the lifecycle;
- ``cpu_tax``: the substrate's CPU tax on the tenant's pods (0–1, pod-weighted over its
  workloads' classes; 0 on bare metal), which the simulation counts as extra demand;
- ``host_bound``: the part of ``cost`` that scales with the number of hosts opened —
  capex, licences and host operations on a sized fleet; on an inventory (owned hosts,
  paid for whether opened or not) only the licences;
- ``placed``: share of its pods placed. Unplaced pods count in ``unmet`` (their whole
  demand) and miss the CPU SLA, so a substrate that cannot run a tenant's pods never looks
  better for it. The simulation counts them itself (their demand is drawn and unmet, and
  the SLA is judged on the demand placed or not); without a simulation, ``unmet`` is the
  share of pods not placed and ``cpu_sla`` is scaled by the share placed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from underlay.analysis.results import Analysis, Comparison
from underlay.model.scenario import Hybrid, Scenario, Vm
from underlay.simulation.results import Simulation

if TYPE_CHECKING:
    from underlay.analysis.cost import SubstrateCost

__all__ = ["Evidence", "gather"]

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class Evidence:
    """(tenants × substrates) figures, plus per-substrate totals and what is missing."""

    scenario: Scenario
    tenants: list[str]
    substrates: list[str]
    kinds: list[str]
    gpu_modes: list[str]  # baremetal | passthrough | vgpu, per substrate
    # per tenant and substrate: the modes its gpu-training workloads get (placement.gpus)
    training_modes: list[list[list[str]]]
    pods: F64  # pods asked for, per tenant
    gpu_training: NDArray[np.bool_]  # per tenant: has a gpu-training workload
    uses_gpu: NDArray[np.bool_]  # per tenant: some workload asks for GPUs
    cost: F64
    throughput: F64
    latency_p95: F64
    unmet: F64
    slowdown: F64
    gpu_unmet: F64  # share of GPU time wanted and not granted (time-sliced GPUs; unplaced)
    exposure: F64
    violations: F64
    sla_probability: F64
    cpu_sla: F64
    months_off_version: F64
    forced_upgrades: F64
    months_unsupported: F64
    placed: F64
    cpu_tax: F64
    host_bound: F64
    substrate_cost: F64  # USD a month, whole substrate
    capex: F64  # the parts of ``cost`` that scale with hardware and licence prices
    licences: F64
    substrate_capex: F64
    substrate_licences: F64
    exposure_host: F64  # the part of ``exposure`` from hypervisor / sandbox escapes
    version_mismatch: F64  # 1 where the tenant cannot run the version it wants at the start
    violation_pairs: list[list[tuple[int, int]]]  # per substrate: tenant pairs breaking a rule
    substrate_host_bound: F64  # per substrate, the whole substrate's host_bound
    gpu_efficiency: F64  # per substrate
    host_cpu: F64  # per substrate: summed over the hosts opened (vm; else 0)
    host_mem: F64
    hypervisor_cpu: F64
    hypervisor_mem: F64
    vm_cpu: F64
    vm_mem: F64
    missing: list[str] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, int]:
        """(tenants, substrates)."""
        return (len(self.tenants), len(self.substrates))


def _gpu_mode(scenario: Scenario, label: str) -> str:
    sub = scenario.substrate(label)
    if sub.kind == "vm":
        return str(getattr(sub, "gpu_mode", "passthrough"))
    if sub.kind == "sandboxed":
        return "passthrough"  # Kata hands GPUs to the pod's VM through VFIO
    return "baremetal"


# The GPU mode a workload's share is given in (placement.gpus), as the constraint names it.
_TRAINING_MODE = {
    "baremetal": "baremetal",
    "time-slicing": "baremetal",
    "mig": "baremetal",
    "passthrough": "passthrough",
    "vgpu": "vgpu",
    "vgpu-mig": "vgpu",
}


def _training_modes(scenario: Scenario, labels: list[str]) -> list[list[list[str]]]:
    """Per tenant and substrate, the GPU modes its gpu-training workloads get there (a
    whole-GPU pod on a vGPU substrate gets passthrough)."""
    from underlay.placement.gpus import gpu_mode

    out = []
    for t in scenario.tenants:
        row = []
        for label in labels:
            sub = scenario.substrate(label)
            modes = {
                _TRAINING_MODE[m]
                for c in t.clusters
                for w in c.workloads
                if w.workload_class == "gpu-training" and (m := gpu_mode(sub, w)) is not None
            }
            row.append(sorted(modes))
        out.append(row)
    return out


def _tenant_tax(scenario: Scenario, comparison: Comparison, substrate: object) -> F64:
    """Per tenant, the substrate's CPU tax on its pods, pod-weighted over its workloads'
    classes (the simulation's :func:`~underlay.simulation.engine.cpu_tax`)."""
    from underlay.placement.overheads import cpu_tax

    out = np.zeros(len(scenario.tenants))
    for i, t in enumerate(scenario.tenants):
        ws = [w for c in t.clusters for w in c.workloads]
        reps = np.array([w.replicas for w in ws], np.float64)
        tax = np.array([cpu_tax(substrate, comparison.defaults, w.workload_class) for w in ws])
        if reps.sum() > 0:
            out[i] = float(reps @ tax / reps.sum())
        elif len(tax):
            out[i] = float(tax.mean())
    return out


@dataclass
class _Figures:
    """The figures ``gather`` fills in stage by stage, each neutral until a stage sets it;
    its fields are :class:`Evidence`'s."""

    cost: F64
    throughput: F64
    latency_p95: F64
    unmet: F64
    slowdown: F64
    gpu_unmet: F64
    exposure: F64
    exposure_host: F64
    violations: F64
    sla_probability: F64
    cpu_sla: F64
    months_off_version: F64
    forced_upgrades: F64
    months_unsupported: F64
    placed: F64
    version_mismatch: F64
    capex: F64
    licences: F64
    host_bound: F64
    cpu_tax: F64
    substrate_cost: F64
    substrate_capex: F64
    substrate_licences: F64
    gpu_efficiency: F64
    violation_pairs: list[list[tuple[int, int]]]

    @classmethod
    def neutral(cls, tenants: int, substrates: int) -> _Figures:
        """Nothing paid, every pod placed at full speed, every SLA met, nothing exposed."""

        def full(value: float) -> F64:
            return np.full((tenants, substrates), value, np.float64)

        return cls(
            cost=full(0),
            throughput=full(1),
            latency_p95=full(1),
            unmet=full(0),
            slowdown=full(0),
            gpu_unmet=full(0),
            exposure=full(0),
            exposure_host=full(0),
            violations=full(0),
            sla_probability=full(1),
            cpu_sla=full(100),
            months_off_version=full(0),
            forced_upgrades=full(0),
            months_unsupported=full(0),
            placed=full(1),
            version_mismatch=full(0),
            capex=full(0),
            licences=full(0),
            host_bound=full(0),
            cpu_tax=full(0),
            substrate_cost=np.zeros(substrates),
            substrate_capex=np.zeros(substrates),
            substrate_licences=np.zeros(substrates),
            gpu_efficiency=np.ones(substrates),
            violation_pairs=[[] for _ in range(substrates)],
        )


def gather(
    comparison: Comparison, simulation: Simulation | None = None, analysis: Analysis | None = None
) -> Evidence:
    """The evidence of one run of the pipeline (stages not run stay neutral)."""
    sc = comparison.scenario
    names = [t.name for t in sc.tenants]
    labels = [s.name for s in comparison.substrates]
    owned = sc.hardware.inventory is not None  # hosts paid for whether opened or not
    uses_gpu = [any(w.gpu_count > 0 for c in t.clusters for w in c.workloads) for t in sc.tenants]
    fig = _Figures.neutral(len(names), len(labels))
    _from_placement(fig, comparison, uses_gpu, owned)
    missing: list[str] = []
    if simulation is not None:
        _from_simulation(fig, simulation)
    else:
        missing.append("simulation")
        # Pods that could not be placed get nothing: their demand is unmet, their SLA missed
        # (a simulation counts them itself, so this is for the static figures only).
        fig.unmet = 1 - fig.placed
        fig.cpu_sla = fig.cpu_sla * fig.placed
    sections = analysis.sections if analysis is not None else ()
    missing += [s for s in ("isolation", "failures", "lifecycle", "cost") if s not in sections]
    if analysis is not None:
        _from_analysis(fig, analysis, names, owned)
    host = _vm_hosts(comparison)
    workloads = [[w for c in t.clusters for w in c.workloads] for t in sc.tenants]
    return Evidence(
        scenario=sc,
        tenants=names,
        substrates=labels,
        kinds=[s.kind for s in comparison.substrates],
        gpu_modes=[_gpu_mode(sc, label) for label in labels],
        training_modes=_training_modes(sc, labels),
        pods=np.array([sum(w.replicas for w in ws) for ws in workloads], float),
        gpu_training=np.array(
            [any(w.workload_class == "gpu-training" for w in ws) for ws in workloads], bool
        ),
        uses_gpu=np.array(uses_gpu, bool),
        substrate_host_bound=fig.host_bound.sum(axis=0),
        host_cpu=host["cpu"],
        host_mem=host["mem"],
        hypervisor_cpu=host["hyp_cpu"],
        hypervisor_mem=host["hyp_mem"],
        vm_cpu=host["vm_cpu"],
        vm_mem=host["vm_mem"],
        missing=missing,
        **vars(fig),
    )


def _from_placement(
    fig: _Figures, comparison: Comparison, uses_gpu: list[bool], owned: bool
) -> None:
    """The static figures: placement, the CPU tax and the static cost."""
    sc = comparison.scenario
    for j, p in enumerate(comparison.placements):
        fig.cpu_tax[:, j] = _tenant_tax(sc, comparison, sc.substrate(p.name))
    for j, st in enumerate(comparison.substrates):
        fig.gpu_efficiency[j] = st.gpu_efficiency
        fig.substrate_cost[j] = st.cost_per_month_usd
        fig.substrate_capex[j], fig.substrate_licences[j] = st.cost_capex, st.cost_licences
        whole = st.cost_per_month_usd or 1.0
        for i, t in enumerate(st.tenants):
            fig.cost[i, j] = t.cost_per_month_usd
            fig.capex[i, j] = t.cost_per_month_usd * st.cost_capex / whole
            fig.licences[i, j] = t.cost_per_month_usd * st.cost_licences / whole
            fig.host_bound[i, j] = fig.licences[i, j] + (0.0 if owned else fig.capex[i, j])
            # without a simulation: the GPU's efficiency for tenants using GPUs, else the CPU's
            fig.throughput[i, j] = st.gpu_efficiency if uses_gpu[i] else st.cpu_efficiency
            fig.placed[i, j] = t.pods_placed / t.pods if t.pods else 1.0
            fig.version_mismatch[i, j] = float(t.running_version != t.wanted_version)


def _vm_hosts(comparison: Comparison) -> dict[str, F64]:
    """Per substrate, the VM hosts' CPU and memory, the hypervisor's and the VMs' (0 on
    every substrate but ``vm``; a hybrid's: its vm parts' hosts)."""
    sc, S = comparison.scenario, len(comparison.placements)
    host = {k: np.zeros(S) for k in ("cpu", "mem", "hyp_cpu", "hyp_mem", "vm_cpu", "vm_mem")}
    for j, p in enumerate(comparison.placements):
        sub = sc.substrate(p.name)
        spans: list[tuple[Vm, slice, slice]] = []
        if isinstance(sub, Vm):
            spans.append((sub, slice(None), slice(None)))
        elif isinstance(sub, Hybrid):
            for part in p.parts:
                own = next(q.substrate for q in sub.parts if q.name == part.name)
                if isinstance(own, Vm):
                    spans.append((own, slice(*part.hosts), slice(*part.nodes)))
        for vm, hosts, rows in spans:
            on = p.nodes.host[rows] >= 0
            host["cpu"][j] += p.host_cpu[hosts].sum()
            host["mem"][j] += p.host_mem[hosts].sum()
            host["hyp_cpu"][j] += p.host_hypervisor_cpu[hosts].sum()
            host["hyp_mem"][j] += p.host_hypervisor_mem[hosts].sum()
            host["vm_cpu"][j] += (p.nodes.size_cpu[rows][on] / vm.cpu_overcommit).sum()
            host["vm_mem"][j] += (
                p.nodes.size_mem[rows][on] / vm.memory_overcommit
                + p.nodes.vm_overhead_mem[rows][on]
            ).sum()
    return host


def _from_simulation(fig: _Figures, simulation: Simulation) -> None:
    for j, r in enumerate(simulation.results):
        for i, ts in enumerate(r.tenants):
            fig.throughput[i, j] = ts.throughput_percent / 100
            fig.latency_p95[i, j] = max(1.0, ts.latency_inflation_p95)
            fig.unmet[i, j] = ts.unmet_percent / 100
            fig.slowdown[i, j] = ts.slowdown_percent / 100
            fig.gpu_unmet[i, j] = ts.gpu_unmet_percent / 100
            fig.cpu_sla[i, j] = ts.sla_attainment_percent


def _from_analysis(fig: _Figures, analysis: Analysis, names: list[str], owned: bool) -> None:
    index = {n: i for i, n in enumerate(names)}
    for j, a in enumerate(analysis.substrates):
        if a.isolation is not None:
            for i, ti in enumerate(a.isolation.tenants):
                fig.exposure[i, j] = ti.incidents_per_year
                fig.exposure_host[i, j] = sum(
                    v for k, v in ti.by_escape.items() if k != "container"
                )
                fig.violations[i, j] = ti.violations
            fig.violation_pairs[j] = sorted(
                {
                    (min(index[v.tenant], index[v.other]), max(index[v.tenant], index[v.other]))
                    for v in a.isolation.violations
                }
            )
        if a.failures is not None:
            for i, tf in enumerate(a.failures.tenants):
                fig.sla_probability[i, j] = tf.sla_probability
        if a.lifecycle is not None:
            for i, tl in enumerate(a.lifecycle.tenants):
                fig.months_off_version[i, j] = tl.months_off_own_version
                fig.forced_upgrades[i, j] = tl.forced_upgrades
                fig.months_unsupported[i, j] = tl.months_out_of_support
        if a.cost is not None:
            _costs(fig, j, a.cost, owned)


def _costs(fig: _Figures, j: int, cost: SubstrateCost, owned: bool) -> None:
    """The cost analysis' figures for substrate ``j`` (power at the simulated load)."""
    fig.substrate_cost[j] = cost.per_month.total
    fig.substrate_capex[j] = cost.per_month.capex
    fig.substrate_licences[j] = cost.per_month.licences
    for i, tc in enumerate(cost.tenants):
        fig.cost[i, j] = tc.per_month.total
        fig.capex[i, j] = tc.per_month.capex
        fig.licences[i, j] = tc.per_month.licences
        fig.host_bound[i, j] = tc.per_month.licences + (
            0.0 if owned else tc.per_month.capex + tc.per_month.ops_hosts
        )
