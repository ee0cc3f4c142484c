"""A straightforward per-pod, per-step reference implementation of underlay's simulation.

The oracle behind "the engine equals the reference": ``benchmarks/simulate.py
--reference-only`` and ``tests/simulation/test_reference_oracle.py`` run it against
``underlay.simulation.engine.simulate_substrate``. It is written from the module
docstrings of ``underlay.simulation.engine`` and ``underlay.simulation.contention``, NOT
by calling their functions: plain Python floats, one pod at a time, a plain loop over
steps and hosts (no dependency beyond the standard library; NumPy arrays are only read).
It reads plain data: the scenario, the defaults, the placement's node table and where
each pod went.

The model, as the docstrings state it.

**Kernels** (a bare-metal node, or a VM's guest), only those with tenant pods:

- the kubelet and container runtime use ``node_daemons.kubelet_runtime_cpu_milli``; a
  control plane stacked on a worker is one more guaranteed pod there, using
  ``control_plane.use_fraction`` of the size kept for it;
  the kernel's CPU for pods is the machine's size less that;
- the node's DaemonSet pods are *pods* here, not a subtraction: ``system_pods`` of them,
  the node's DaemonSet requests (``system_cpu`` / ``system_mem``) split evenly, each
  using ``system_pods_cpu_use`` × its CPU request and ``system_pods_memory_use`` × its
  memory request. Below their requests, CFS guarantees them that CPU; they are
  system-node-critical, so the kubelet never evicts them but their memory counts. This
  checks the engine's claim that they are equivalent to a constant load;
- the kernel's memory for pods is its size less the kubelet's reservation
  (``reserved_mem``: kube + system reserved + eviction threshold).

**A tenant pod**: demand = usage ÷ (1 − tax), the tax being the hypervisor's
``cpu_overhead_percent`` on ``vm``, the runtime's ``class_cpu_overhead_percent[class]``
(else its ``cpu_overhead_percent``) on ``sandboxed``, 0 elsewhere. *Allowed* = demand
within the workload's CPU limit; the rest is *throttled*. On ``sandboxed`` the pod
cgroup is the workload plus the runtime's ``pod_overhead`` (requests, limits, memory
use) and the sandbox itself uses the overhead CPU — never the workload's. A Kata guest
(``default_vcpus`` / ``default_memory``): a container without a CPU limit runs on at
most ``default_vcpus`` cores (the excess of allowed is unmet: *sandbox cap*); without a
memory limit it has ``default_memory`` and is OOM-killed above it; a limit hot-adds
vCPUs / memory, so the limit alone binds.

**Each step, each host, each kernel**:

1. memory: a pod above its memory limit is OOM-killed. If the DaemonSets' memory plus
   the rest exceeds the kernel's memory for pods, the kubelet evicts in its order —
   pods using more than their memory request first, then by priority (lowest first),
   then by usage above the request (largest first), ties in canonical pod order — from
   the front until the rest fits. (Placement keeps requests within allocatable, and the
   DaemonSets use less than they request, so the pods within their requests always fit:
   evictions never reach the second group, but the order keeps those pods safe from
   over-request pods of lower priority.) A killed or evicted pod gets no CPU and holds no
   memory that step; what it was allowed is unmet (*killed*); every killed pod-step is
   one kill.
2. CPU (CFS): each pod (DaemonSets included) is guaranteed up to its request; the CPU
   left is water-filled among the pods that want more by weight max(request, 2m), each
   capped at what it wants, until nothing changes (exact). Allowed and not granted is
   *contention*.
3. VMs on a host: every VM's used CPU (its kubelet, DaemonSets and pods) competes for the
   host's cores less the hypervisor's reservation: each VM is guaranteed
   min(used, vCPUs ÷ overcommit), the rest is water-filled by vCPU weight; a VM's pods
   lose the rest in proportion (*CPU-ready*). VMs without tenant pods do not take part.
   (At overcommit 1 the VMs' vCPUs fit the host, so nobody loses anything.)
4. the workload's grant is the pod's grant less the sandbox's overhead; *unmet* is
   allowed − granted (checked against the engine's sum of contention, CPU-ready, killed,
   sandbox cap and unplaced).
5. shared hardware: a pod loses k × L of its granted work, L = other tenants' granted CPU
   on its host ÷ the host's cores; k is ``interference.slowdown_at_full_load`` unless the
   scenario sets ``simulation.shared_hardware_slowdown``; 0 on ``baremetal-dedicated``
   and on substrates with ``cache_partitioned``.
6. latency (pods of class ``network-latency`` that are running): an M/M/1 queue served
   by min(max(grant + its by-request share of what the kernel left idle, request),
   limit, sandbox vCPUs), against the same pod alone on its idle kernel
   (min(limit, the kernel's CPU for tenant pods)); response 1 / (1 − ρ) up to rho_max,
   then × ρ / rho_max; on a VM divided by the VM's CPU-ready share kept; capped at
   max_inflation. p95 per tenant: the ceil(0.95 n)-th smallest value.

Pods that were never placed want CPU too (drawn like any other): all of their allowed
demand is unmet (*unplaced*). SLA attainment: share of steps in which a tenant's
granted CPU is at least ``sla.cpu_satisfaction_percent`` of its allowed demand (placed
or not).

**GPUs** (from ``underlay.placement.gpus``, ``underlay.simulation.usage`` and the engine's
``_GpuShares``), in milli-GPUs, per step:

- the mode: bare metal gives whole GPUs as they are, a fraction of one by time-slicing or
  MIG (the substrate's ``gpu_sharing``); ``vm`` passes whole GPUs through, and a
  fraction is time-sliced inside a VM holding whole GPUs (``gpu_mode: passthrough``) or
  is a vGPU slice of the VM's own (``gpu_mode: vgpu``; MIG-backed with ``gpu_sharing:
  mig``); ``sandboxed`` pods get whole GPUs;
- the share a pod was given: its ``fraction`` of each GPU, raised to the share of memory
  it asks (``gpu.memory`` over the smallest memory among the models it may use, those
  with enough), at most a whole GPU; under MIG it may use MIG-capable models only, and
  its share is the smallest profile of each holding its compute (``fraction``) and
  memory (``gpu.memory``, else its fraction of the model's), ``g`` of ``slices`` slices
  counting floor(1000 g / slices), the largest over the models; a sandboxed pod's share
  is a whole GPU; times its GPUs;
- what it wants: ``usage.gpu`` × its share × the workload's burst factor while it bursts;
- a pod holding a fraction of a GPU in a time-sliced mode (bare-metal time-slicing, a
  fraction of a VM's passthrough GPU, a vGPU) shares one physical device: a bare-metal
  host's GPU, a GPU passed through to its VM (the VM's own), or — in a VM holding a vGPU
  slice — the host GPU the slice is on. Each device's 1,000 is water-filled equally among
  its pods, each capped at what it wants (exact): it may take idle time beyond its share
  and loses part of its share when its neighbours want more; its demand is its want;
- any other pod (whole GPUs, a MIG slice, a MIG-backed vGPU) is isolated: its demand and
  grant are min(want, share);
- a pod never placed is given nothing; its demand is what it would have wanted
  placed (as above, by its mode).

Input: ``cpu`` and ``mem`` as (pods × steps) arrays in underlay's canonical pod order,
every pod of the scenario (``underlay.simulation.usage.UsageSampler`` output), so the
engine and the reference see exactly the same usage; for GPUs ``burst``, the burst
factor of every pod and step (``UsageSampler.burst_rows``: 1 outside bursts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

MIN_SHARES_MILLI = 2.0
# Millicore-steps per tenant (converted to core-hours by the caller).
CPU_MEASURES = (
    "demand", "granted", "throttled", "unmet", "contention", "ready", "killed", "capped",
    "unplaced", "slow",
)  # fmt: skip
COUNT_MEASURES = ("oom", "evict")
GPU_MEASURES = ("gpu_demand", "gpu_granted")  # milli-GPU-steps per tenant
# How often a rule fired (pod-steps), so a test can check that a case exercises it.
PATHS = (
    "guest_memory_oom",  # a Kata pod without a memory limit above the guest's memory
    "above_guest_memory",  # a Kata pod with a larger memory limit, alive above it
    "latency_backlog",  # a latency pod past rho_max
    "gpu_contended",  # a time-sliced pod given less than it wants (neighbours on its device)
    "gpu_idle_taken",  # a time-sliced pod given more than its share (idle device time)
    "gpu_capped",  # an isolated pod wanting more than its share
    "gpu_burst",  # a GPU pod in a burst
    "gpu_unplaced",  # a GPU pod never placed, wanting GPU time
)
WHOLE_GPU = 1000.0
LATENCY_CLASS = "network-latency"


@dataclass
class Pod:
    """A tenant pod; CPU in millicores, memory in MiB."""

    index: int  # canonical: its row of the usage arrays
    tenant: int
    factor: float  # 1 / (1 − tax)
    lim_w: float  # the workload's own CPU limit (inf without)
    vcap: float  # a Kata guest's vCPUs when the workload has no CPU limit (else inf)
    ovh_cpu: float  # the sandbox's own use
    ovh_mem: float
    req_cpu: float  # the pod cgroup's: workload + sandbox overhead
    lim_cpu: float
    req_mem: float
    lim_mem: float  # where it is OOM-killed (pod cgroup)
    priority: int
    latency: bool
    guest_memory: float = math.inf  # a Kata guest's default memory (MiB)
    memory_limited: bool = True


@dataclass
class Daemon:
    """A DaemonSet pod: a constant use below its request."""

    req_cpu: float
    use_cpu: float
    use_mem: float


@dataclass
class Kernel:
    node: int
    cpu: float  # for pods, DaemonSets included: the machine less the kubelet
    mem: float  # for pods, DaemonSets included: the machine less the kubelet's reservation
    vcpus: float  # the machine (a VM's vCPUs), millicores
    kubelet: float
    daemons: list[Daemon] = field(default_factory=list)
    pods: list[Pod] = field(default_factory=list)


@dataclass
class Host:
    cores: float  # millicores
    usable: float  # what VMs compete for: the cores less the hypervisor's reservation
    kernels: list[Kernel] = field(default_factory=list)


@dataclass
class GpuPod:
    """A pod with GPUs; milli-GPUs."""

    index: int  # canonical: its row of the usage arrays
    tenant: int
    mode: str  # baremetal, time-slicing, mig, passthrough, vgpu, vgpu-mig
    share: float  # what it was given (per GPU × GPUs); what it asked, if never placed
    level: float  # usage.gpu
    sliced: bool  # a fraction of a GPU, time-sliced; else isolated
    placed: bool
    node: int = -1  # where it runs (a bare-metal node or a VM)
    device: tuple[str, int, int] | None = None  # the physical device a placed sliced pod shares


@dataclass
class Model:
    hosts: list[Host]
    unplaced: list[Pod]
    tenants: int
    sla_target: list[float]  # fraction
    slowdown: float  # k
    vm: bool
    overcommit: float
    rho_max: float
    max_inflation: float
    gpu_pods: list[GpuPod] = field(default_factory=list)
    gpu_devices: list[list[GpuPod]] = field(default_factory=list)  # placed sliced pods by device


@dataclass
class Result:
    """Per-tenant totals over the horizon."""

    acc: dict[str, list[float]]  # CPU_MEASURES (millicore-steps) and COUNT_MEASURES
    sla_ok: list[int]  # steps meeting the SLA
    sla_borderline: list[int]  # steps within float noise of the SLA line
    latency: list[list[float]]  # inflation of every running latency pod-step
    steps: int
    paths: dict[str, int]  # PATHS

    def latency_p95(self, tenant: int) -> float:
        """The ceil(0.95 n)-th smallest inflation (1.0 without latency pods)."""
        values = sorted(self.latency[tenant])
        if not values:
            return 1.0
        return values[max(math.ceil(0.95 * len(values)) - 1, 0)]

    def sla_percent(self, tenant: int) -> float:
        return 100.0 * self.sla_ok[tenant] / self.steps


def build(scenario: Any, defaults: Any, placement: Any) -> Model:
    """Pods, kernels and hosts of one placement, from the scenario and placement data."""
    substrate = scenario.substrate(placement.name)
    kind = substrate.kind
    nodes = placement.nodes
    daemons = defaults.node_daemons
    ovh_cpu = ovh_mem = 0.0
    default_vcpus: float | None = None
    default_memory: float | None = None
    if kind == "sandboxed":
        runtime = defaults.sandbox_runtimes[substrate.runtime]
        ovh_cpu = float(runtime.pod_overhead.cpu_milli)
        ovh_mem = float(runtime.pod_overhead.memory_mib)
        if runtime.default_vcpus is not None:
            default_vcpus = 1000.0 * runtime.default_vcpus
        if runtime.default_memory_mib is not None:
            default_memory = float(runtime.default_memory_mib)

    def tax(workload_class: str) -> float:
        if kind == "vm":
            return float(defaults.hypervisors[substrate.hypervisor].cpu_overhead_percent) / 100
        if kind == "sandboxed":
            r = defaults.sandbox_runtimes[substrate.runtime]
            return (
                float(r.class_cpu_overhead_percent.get(workload_class, r.cpu_overhead_percent))
                / 100
            )
        return 0.0

    kernels: dict[int, Kernel] = {}
    unplaced: list[Pod] = []
    gpu_pods: list[GpuPod] = []
    index = 0
    for w, ref in enumerate(placement.workloads):
        wl = ref.workload
        req_c, req_m = float(wl.requests.cpu_milli), float(wl.requests.memory_mib)
        lim = wl.limits
        lim_c = float(lim.cpu_milli) if lim is not None and lim.cpu_milli else math.inf
        lim_m = float(lim.memory_mib) if lim is not None and lim.memory_mib else math.inf
        vcap = default_vcpus if default_vcpus is not None and lim_c == math.inf else math.inf
        limited = lim_m != math.inf
        if default_memory is not None and not limited:
            lim_m = default_memory  # the guest's memory: OOM above it
        # Canonical numbering: workload by workload, replica by replica; the first
        # replicas go to the workload's nodes in node order.
        on_nodes = [int(n) for n, c in zip(placement.pod_nodes[w], placement.pod_counts[w],
                                           strict=True) for _ in range(int(c))]  # fmt: skip
        if wl.gpu is not None and wl.gpu.count:
            mode = gpu_mode(kind, substrate, wl)
            per_gpu = gpu_share(scenario, defaults, kind, mode, wl)
            sliced = per_gpu < WHOLE_GPU and mode in ("time-slicing", "vgpu", "passthrough")
            devices = [int(d) for d in placement.pod_devices[w]]
            for r in range(wl.replicas):
                gp = GpuPod(index=index + r, tenant=ref.tenant_index, mode=mode,
                            share=per_gpu * wl.gpu.count, level=float(wl.usage.gpu),
                            sliced=sliced, placed=r < len(on_nodes))  # fmt: skip
                if gp.placed:
                    gp.node = on_nodes[r]
                if gp.placed and sliced:
                    n = on_nodes[r]
                    if bool(nodes.is_vm[n]) and 0 < int(nodes.gpu_cap_milli[n]) < WHOLE_GPU:
                        # a vGPU slice: its pods share the host GPU the slice is on
                        gp.device = ("host", int(nodes.host[n]), int(nodes.host_gpu_device[n]))
                    else:  # a bare-metal host's GPU, or one passed through to the VM
                        gp.device = ("node", n, devices[r])
                gpu_pods.append(gp)
        for r in range(wl.replicas):
            pod = Pod(
                index=index, tenant=ref.tenant_index, factor=1.0 / (1.0 - tax(wl.workload_class)),
                lim_w=lim_c, vcap=vcap, ovh_cpu=ovh_cpu, ovh_mem=ovh_mem,
                req_cpu=req_c + ovh_cpu, lim_cpu=lim_c + ovh_cpu,
                req_mem=req_m + ovh_mem, lim_mem=lim_m + ovh_mem,
                priority=int(wl.priority), latency=wl.workload_class == LATENCY_CLASS,
                guest_memory=math.inf if default_memory is None else default_memory,
                memory_limited=limited,
            )  # fmt: skip
            index += 1
            if r >= len(on_nodes):
                unplaced.append(pod)
                continue
            n = on_nodes[r]
            if n not in kernels:
                kubelet = float(daemons.kubelet_runtime_cpu_milli)
                k = Kernel(
                    node=n,
                    cpu=float(nodes.size_cpu[n]) - kubelet,
                    mem=float(nodes.size_mem[n]) - float(nodes.reserved_mem[n]),
                    vcpus=float(nodes.size_cpu[n]),
                    kubelet=kubelet,
                )
                count = int(nodes.system_pods[n])
                for _ in range(count):
                    rc = float(nodes.system_cpu[n]) / count
                    rm = float(nodes.system_mem[n]) / count
                    k.daemons.append(Daemon(rc, daemons.system_pods_cpu_use * rc,
                                            daemons.system_pods_memory_use * rm))  # fmt: skip
                if nodes.control_plane_cpu[n] > 0:  # a control plane stacked on this worker
                    use = defaults.control_plane.use_fraction
                    rc = float(nodes.control_plane_cpu[n])
                    rm = float(nodes.control_plane_mem[n])
                    k.daemons.append(Daemon(rc, use * rc, use * rm))
                kernels[n] = k
            kernels[n].pods.append(pod)
    # What a host gives its VMs: its cores less the hypervisor's reservation (recorded per
    # host by placement, as it grows with the host) and less the node software of the VMs
    # there without tenant pods (control planes), which runs first.
    idle: dict[int, float] = {}
    if kind == "vm":
        for n in range(len(nodes)):
            if n not in kernels and int(nodes.host[n]) >= 0:
                h = int(nodes.host[n])
                idle[h] = (
                    idle.get(h, 0.0)
                    + daemons.kubelet_runtime_cpu_milli
                    + (daemons.system_pods_cpu_use * float(nodes.system_cpu[n]))
                    + defaults.control_plane.use_fraction * float(nodes.control_plane_cpu[n])
                )
    hosts: dict[int, Host] = {}
    for n in sorted(kernels):
        h = int(nodes.host[n])
        if h not in hosts:
            cores = float(placement.host_cpu[h])
            reserved = float(placement.host_hypervisor_cpu[h]) if kind == "vm" else 0.0
            hosts[h] = Host(cores=cores, usable=cores - reserved - idle.get(h, 0.0))
        hosts[h].kernels.append(kernels[n])
    for k in kernels.values():  # canonical order inside each kernel
        k.pods.sort(key=lambda p: p.index)
    by_device: dict[tuple[str, int, int], list[GpuPod]] = {}
    for gp in gpu_pods:
        if gp.device is not None:
            by_device.setdefault(gp.device, []).append(gp)

    slowdown = float(defaults.interference.slowdown_at_full_load)
    if scenario.simulation.shared_hardware_slowdown is not None:
        slowdown = float(scenario.simulation.shared_hardware_slowdown)
    if kind == "baremetal-dedicated" or getattr(substrate, "cache_partitioned", False):
        slowdown = 0.0
    return Model(
        hosts=[hosts[h] for h in sorted(hosts)],
        unplaced=unplaced,
        tenants=len(scenario.tenants),
        sla_target=[t.sla.cpu_satisfaction_percent / 100.0 for t in scenario.tenants],
        slowdown=slowdown,
        vm=kind == "vm",
        overcommit=float(substrate.cpu_overcommit) if kind == "vm" else 1.0,
        rho_max=float(defaults.latency.rho_max),
        max_inflation=float(defaults.latency.max_inflation),
        gpu_pods=gpu_pods,
        gpu_devices=[by_device[key] for key in sorted(by_device)],
    )


def gpu_mode(kind: str, substrate: Any, workload: Any) -> str:
    """How a workload with GPUs gets them on the substrate (see the module docstring)."""
    whole = workload.gpu.fraction >= 1
    if kind == "vm":
        if whole or substrate.gpu_mode == "passthrough":
            return "passthrough"
        return "vgpu-mig" if substrate.gpu_sharing == "mig" else "vgpu"
    if kind == "sandboxed":
        return "passthrough"
    if whole:
        return "baremetal"
    return "mig" if substrate.gpu_sharing == "mig" else "time-slicing"


def gpu_share(scenario: Any, defaults: Any, kind: str, mode: str, workload: Any) -> float:
    """Milli-GPUs one replica is given of each of its GPUs (see the module docstring)."""
    req = workload.gpu
    memory: dict[str, float] = {}
    mig: dict[str, Any] = {}
    for host_model in scenario.hardware.host_models:
        if host_model.gpus is None:
            continue
        name = host_model.gpus.model
        spec = defaults.gpu_catalog.find(name)
        own = host_model.gpus.memory_mib
        memory[name] = float(own) if own is not None else float(spec.memory_mib) if spec else 0
        mig[name] = spec.mig if spec is not None else None
    models = sorted(req.models) if req.models else sorted(memory)
    if mode in ("mig", "vgpu-mig"):  # only MIG-capable models are allowed to it
        models = [m for m in models if mig.get(m) is not None]
    asked = round(req.fraction * WHOLE_GPU)
    milli = float(asked)
    if req.memory_mib is not None:
        models = [m for m in models if memory.get(m, 0.0) >= req.memory_mib]
        smallest = min(memory[m] for m in models)
        milli = max(milli, math.ceil(WHOLE_GPU * req.memory_mib / smallest))
    if kind == "sandboxed" or milli >= WHOLE_GPU:
        return WHOLE_GPU
    if mode in ("mig", "vgpu-mig"):
        best = 0.0
        for m in models:
            geometry = mig.get(m)
            if geometry is None:
                continue
            need = req.memory_mib if req.memory_mib is not None else req.fraction * memory[m]
            fits = [g for g, mem in geometry.profiles
                    if g * WHOLE_GPU >= asked * geometry.slices and mem >= need]  # fmt: skip
            g = min(fits) if fits else geometry.slices
            best = max(best, float(math.floor(WHOLE_GPU * g / geometry.slices)))
        return best
    return milli


def water_fill(
    want: list[float], weight: list[float], free: float, rounds: int | None = None
) -> list[float]:
    """Share ``free`` by ``weight``, each capped at ``want``; exact unless ``rounds``."""
    n = len(want)
    given = [0.0] * n
    left = list(want)
    free = max(free, 0.0)
    done = 0
    while free > 0.0 and (rounds is None or done < rounds):
        active = [i for i in range(n) if left[i] > 0.0]
        if not active:
            break
        total_w = sum(weight[i] for i in active)
        per_w = free / max(total_w, 1e-9)
        handed = 0.0
        for i in active:
            g = min(left[i], weight[i] * per_w)
            given[i] += g
            left[i] -= g
            handed += g
        done += 1
        if handed <= 0.0:
            break  # nothing changes any more
        # Every active pod either took its full weighted share (then all of ``free`` went
        # out) or was capped (it leaves the active set): stop when nothing is left.
        free = max(free - handed, 0.0)
        if free <= 1e-9 * max(1.0, total_w):
            break
    return given


@dataclass
class _PodStep:
    pod: Pod
    allowed: float  # demand within the workload's limit
    killed: bool
    pod_grant: float = 0.0  # the pod cgroup's, before CPU-ready
    granted: float = 0.0  # the workload's, after CPU-ready and the sandbox's share


def _response(rho: float, rho_max: float) -> float:
    return max(rho / rho_max, 1.0) / (1.0 - min(rho, rho_max))


def _kernel_step(
    k: Kernel,
    s: int,
    cpu: Any,
    mem: Any,
    acc: dict[str, list[float]],
    paths: dict[str, int],
    rounds: int | None,
) -> tuple[list[_PodStep], float, float]:
    """Memory, then CPU, on one kernel at step ``s``: (tenant pods, the DaemonSets' CPU,
    the CPU the kernel left idle)."""
    # --- memory: OOM over the own limit, then the kubelet's eviction order
    steps: list[_PodStep] = []
    held: list[tuple[_PodStep, float]] = []
    for p in k.pods:
        d = float(cpu[p.index, s]) * p.factor
        allowed = min(d, p.lim_w)
        acc["demand"][p.tenant] += d
        acc["throttled"][p.tenant] += d - allowed
        use = float(mem[p.index, s]) + p.ovh_mem
        ps = _PodStep(p, allowed, killed=use > p.lim_mem)
        steps.append(ps)
        if ps.killed:
            acc["oom"][p.tenant] += 1
            paths["guest_memory_oom"] += not p.memory_limited and use - p.ovh_mem > p.guest_memory
        else:
            held.append((ps, use))
            paths["above_guest_memory"] += p.memory_limited and use - p.ovh_mem > p.guest_memory
    total = sum(d.use_mem for d in k.daemons) + sum(u for _, u in held)
    if total > k.mem:
        order = sorted(
            held,
            key=lambda e: (e[1] <= e[0].pod.req_mem, e[0].pod.priority,
                           -(e[1] - e[0].pod.req_mem), e[0].pod.index),
        )  # fmt: skip
        for ps, use in order:
            if total <= k.mem:
                break
            ps.killed = True
            total -= use
            acc["evict"][ps.pod.tenant] += 1
    # --- CPU: the pod cgroups (workload within its caps + the sandbox) and the DaemonSets
    running = [ps for ps in steps if not ps.killed]
    for ps in steps:
        if ps.killed:
            acc["killed"][ps.pod.tenant] += ps.allowed
    demand = [min(ps.allowed, ps.pod.vcap) + ps.pod.ovh_cpu for ps in running]
    demand += [d.use_cpu for d in k.daemons]
    request = [ps.pod.req_cpu for ps in running] + [d.req_cpu for d in k.daemons]
    limit = [ps.pod.lim_cpu for ps in running] + [math.inf for _ in k.daemons]
    allowed = [min(d, lim) for d, lim in zip(demand, limit, strict=True)]
    guaranteed = [min(a, r) for a, r in zip(allowed, request, strict=True)]
    want = [a - g for a, g in zip(allowed, guaranteed, strict=True)]
    weight = [max(r, MIN_SHARES_MILLI) for r in request]
    extra = water_fill(want, weight, k.cpu - sum(guaranteed), rounds)
    grant = [g + e for g, e in zip(guaranteed, extra, strict=True)]
    for i, ps in enumerate(running):
        ps.pod_grant = grant[i]
        acc["contention"][ps.pod.tenant] += allowed[i] - grant[i]
        acc["capped"][ps.pod.tenant] += ps.allowed - min(ps.allowed, ps.pod.vcap)
    daemons_cpu = sum(grant[len(running) :])
    idle = max(k.cpu - sum(grant), 0.0)
    return steps, daemons_cpu, idle


def _gpu_step(m: Model, s: int, burst: Any, acc: dict[str, list[float]],
              paths: dict[str, int]) -> None:  # fmt: skip
    """GPU demand and grants of every GPU pod at step ``s``."""
    want: dict[int, float] = {}
    for gp in m.gpu_pods:
        factor = 1.0 if burst is None else float(burst[gp.index, s])
        w = want[gp.index] = gp.level * gp.share * factor
        paths["gpu_burst"] += factor > 1.0
        demand = w if gp.sliced else min(w, gp.share)
        acc["gpu_demand"][gp.tenant] += demand
        if not gp.placed:
            paths["gpu_unplaced"] += demand > 0.0
        elif not gp.sliced:
            acc["gpu_granted"][gp.tenant] += demand
            paths["gpu_capped"] += w > gp.share
    for pods in m.gpu_devices:  # time-sliced: each device's 1,000 split equally
        wants = [want[gp.index] for gp in pods]
        got = water_fill(wants, [1.0] * len(pods), WHOLE_GPU)
        for gp, w, g in zip(pods, wants, got, strict=True):
            acc["gpu_granted"][gp.tenant] += g
            paths["gpu_contended"] += g < w - 1e-6
            paths["gpu_idle_taken"] += g > gp.share + 1e-6


def run(m: Model, cpu: Any, mem: Any, burst: Any = None, *, rounds: int | None = None) -> Result:
    """Per-tenant totals over ``cpu.shape[1]`` steps (``burst``: the pods' burst factors,
    for GPU use; ``rounds``: stop water-filling after that many rounds, to measure what
    such a truncation changes)."""
    if m.gpu_pods and burst is None:
        raise ValueError("GPU pods need the burst factors (UsageSampler.burst_rows)")
    t_count = m.tenants
    acc = {key: [0.0] * t_count for key in CPU_MEASURES + COUNT_MEASURES + GPU_MEASURES}
    latency: list[list[float]] = [[] for _ in range(t_count)]
    sla_ok = [0] * t_count
    borderline = [0] * t_count
    paths = dict.fromkeys(PATHS, 0)
    steps = int(cpu.shape[1])
    for s in range(steps):
        got_t = [0.0] * t_count
        want_t = [0.0] * t_count
        for h in m.hosts:
            per_kernel = [_kernel_step(k, s, cpu, mem, acc, paths, rounds) for k in h.kernels]
            # VMs on the host: each VM's whole use competes for the host's cores.
            kept = [1.0] * len(h.kernels)
            if m.vm:
                used = [
                    k.kubelet + daemons + sum(ps.pod_grant for ps in pods)
                    for k, (pods, daemons, _) in zip(h.kernels, per_kernel, strict=True)
                ]
                reserve = [
                    min(u, k.vcpus / m.overcommit) for u, k in zip(used, h.kernels, strict=True)
                ]
                extra = water_fill(
                    [u - r for u, r in zip(used, reserve, strict=True)],
                    [k.vcpus for k in h.kernels],
                    h.usable - sum(reserve),
                    rounds,
                )
                kept = [
                    (r + e) / u if u > 0 else 1.0
                    for u, r, e in zip(used, reserve, extra, strict=True)
                ]
            # What each workload got.
            by_tenant: dict[int, float] = {}
            for (pods, _, _), f in zip(per_kernel, kept, strict=True):
                for ps in pods:
                    if ps.killed:
                        continue
                    after_ready = ps.pod_grant * f
                    acc["ready"][ps.pod.tenant] += ps.pod_grant - after_ready
                    ps.granted = max(after_ready - ps.pod.ovh_cpu, 0.0)
                    by_tenant[ps.pod.tenant] = by_tenant.get(ps.pod.tenant, 0.0) + ps.granted
            host_granted = sum(by_tenant.values())
            for k, (pods, _, idle), f in zip(h.kernels, per_kernel, kept, strict=True):
                weights = sum(max(p.req_cpu, MIN_SHARES_MILLI) for p in k.pods)
                for ps in pods:
                    p, t = ps.pod, ps.pod.tenant
                    acc["granted"][t] += ps.granted
                    acc["unmet"][t] += ps.allowed - ps.granted
                    got_t[t] += ps.granted
                    want_t[t] += ps.allowed
                    others = host_granted - by_tenant.get(t, 0.0)
                    acc["slow"][t] += ps.granted * m.slowdown * min(others / h.cores, 1.0)
                    if p.latency and not ps.killed:
                        weight = max(p.req_cpu, MIN_SHARES_MILLI)
                        server = ps.granted + idle * weight / weights
                        server = min(max(server, p.req_cpu - p.ovh_cpu), p.lim_w, p.vcap)
                        alone = min(p.lim_w, k.cpu - sum(d.use_cpu for d in k.daemons))
                        rho = ps.allowed / max(server, 1e-6)
                        paths["latency_backlog"] += rho > m.rho_max
                        inflation = _response(rho, m.rho_max)
                        inflation /= _response(ps.allowed / max(alone, 1e-6), m.rho_max)
                        if m.vm:  # every request also waits the VM's CPU-ready share
                            inflation /= max(f, 1e-3)
                        latency[t].append(min(inflation, m.max_inflation))
        _gpu_step(m, s, burst, acc, paths)
        for p in m.unplaced:  # never placed: all it was allowed is unmet
            d = float(cpu[p.index, s]) * p.factor
            allowed = min(d, p.lim_w)
            acc["demand"][p.tenant] += d
            acc["throttled"][p.tenant] += d - allowed
            acc["unplaced"][p.tenant] += allowed
            acc["unmet"][p.tenant] += allowed
            want_t[p.tenant] += allowed
        for t in range(t_count):
            line = m.sla_target[t] * want_t[t]
            sla_ok[t] += want_t[t] <= 0.0 or got_t[t] >= line
            # float32 sums (the engine) and float64 ones (here) may fall either side.
            borderline[t] += want_t[t] > 0.0 and abs(got_t[t] - line) <= 1e-4 * want_t[t] + 1e-2
    return Result(acc, sla_ok, borderline, latency, steps, paths)
