"""The partitioned replay: one placement's replay split by groups of whole hosts, with
figures identical to the single-process run (:func:`~underlay.simulation.engine.
simulate_substrate`), every one of them.

Once placement is fixed, hosts are independent within a step: what a pod gets depends on
its kernel and its host only. The engine already steps the fleet block by block
(:mod:`underlay.simulation.blocks`: whole hosts with all their nodes, VMs and pods), so a
*group* here is a run of consecutive blocks; each worker (:class:`GroupReplay`, in a
local process or a Ray actor, :mod:`underlay.simulation.partition_workers`) sets the
replay up, steps its own blocks chunk by chunk and sends back, per chunk, what its
blocks added to the measures; the parent (:func:`simulate_groups`) folds those in block
order and closes each chunk itself.

Identical, not close:

- **usage**: the draws of a chunk come from one stream for the whole fleet
  (``default_rng([seed, first step])``, every pod in canonical order: a group's pods
  are scattered over it, so no worker draws only its own). The parent draws each chunk
  once (:class:`ChunkDrawer`, the sampler's own
  :meth:`~underlay.simulation.usage.UsageSampler.draw`, unchanged) and
  hands the same arrays to every group, which steps with them
  (``begin(draws=...)``) and reads only its own pods' rows: the usage of a pod never
  depends on the partition, and the figures stay bit for bit the single process's. The
  runner pipelines it: the parent draws the next chunks (up to ``SLOTS`` ahead, into
  shared memory for local processes, into Ray's object store once per chunk for Ray)
  while the workers step the current one.
- **sums in floating point** depend on their order: per-tenant CPU sums, the SLA's
  per-step sums, slowdown and interference are float sums over blocks. A worker does
  not sum its blocks: each ``+=`` a measure makes is kept (:class:`Adds`) and the parent
  makes the same additions in the engine's order — the same numbers added in the same
  order give the same bits.
- **whole-fleet figures** (utilisation across hosts and its 95th percentile, SLATAH's
  host counts, power weights, SLA attainment per step) are never combined from
  summaries: the parent gets every host's raw (hosts × steps) use and the per-step sums,
  and computes them exactly as the engine does. Counts (latency histograms, SLATAH's
  host-steps, kills) are whole numbers: their sums are exact in any order, so each
  worker sends its own once, at the end.
- pods never placed and GPU pods are closed per chunk over the whole fleet, by the
  parent, with their usage rows from its own sampler, made when it drew the chunk
  (:class:`ClosingRows`: the parent draws ahead of the chunk it closes).

Measured (``benchmarks/partition.py``, benchmarks/README.md; 2 workers, dedicated):
drawing once instead of in every worker took the busiest worker's CPU time at 1M pods ×
288 steps from 12.9 to 8.3 s and the parent's from 2.7 to 5.6 s (2.6 of it drawing); at
1M × 2,016, the replay's CPU time in all from ~135 to ~107 s (workers ~65 → ~43 s each,
parent ~4.5 → ~20 s, ~15 of it drawing). Since the normal draws are Box–Muller
(:mod:`underlay.simulation.normals`, ~3 ns a deviate instead of the ziggurat's ~8), the
parent's drawing of that week is ~6 CPU s; with the leaner stepping of round 24 the week
takes 21.8 s on dedicated and 25.8-26.7 s on vm with 2 workers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from underlay.defaults.catalog import Defaults
from underlay.model.scenario import Scenario
from underlay.placement.result import SubstratePlacement
from underlay.simulation import blocks as block_module
from underlay.simulation.engine import Replay, finish_replay, prepare_replay
from underlay.simulation.measures import Chunk, TenantSums
from underlay.simulation.partition_groups import block_work, chunk_spans, split_blocks
from underlay.simulation.results import SubstrateSimulation
from underlay.simulation.usage import ChunkDraws, UsageSampler
from underlay.simulation.usage_models import DrawShape

__all__ = [
    "Adds",
    "BlockPart",
    "ChunkDrawer",
    "ChunkPart",
    "ClosingRows",
    "GroupReplay",
    "GroupTotals",
    "PartitionJob",
    "Sparse",
    "serial_groups",
    "simulate_groups",
]

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@contextmanager
def _block_pods(size: int | None) -> Iterator[None]:
    """The engine's block size set to ``size`` pods for the ``with`` (None: its own).

    Groups are runs of the engine's blocks, so a fleet of one block cannot be split;
    tests and benchmarks cut small fleets into many blocks with this, in the parent and in
    every worker alike (the figures of a replay depend on its blocks: sums are per block).
    """
    if size is None:
        yield
        return
    before = block_module.BLOCK_PODS
    block_module.BLOCK_PODS = size
    try:
        yield
    finally:
        block_module.BLOCK_PODS = before


@dataclass(frozen=True)
class PartitionJob:
    """What a worker replays: the placement, and which of ``groups`` groups is its own."""

    scenario: Scenario
    defaults: Defaults
    placement: SubstratePlacement
    seed: int | None
    groups: int
    group: int
    block_pods: int | None = None  # the engine's block size (None: its own)


@dataclass(frozen=True)
class Sparse:
    """A mostly-zero array sent as its nonzero entries (adding it adds only those: the
    zeros would leave every sum as it was)."""

    flat: I64
    values: NDArray[Any]


class Adds:
    """Stands in for a measure's accumulator in a worker: keeps each value added to it
    (``+=``), in order, instead of summing."""

    def __init__(self, shape: tuple[int, ...] = ()) -> None:
        self.items: list[Any] = []
        self.shape = shape  # what the measure checks of its accumulator's shape

    def __iadd__(self, value: Any) -> Adds:
        self.items.append(value)
        return self


def _compact(value: Any) -> Any:
    """``value``, as :class:`Sparse` when it is a large array with few nonzero entries."""
    if isinstance(value, np.ndarray) and value.size >= 4096:
        flat = np.flatnonzero(value)
        if len(flat) * 4 < value.size:
            return Sparse(flat.astype(np.int64), value.ravel()[flat])
    return value


def _add(target: NDArray[Any], value: Any) -> None:
    """``target += value``, as the measure did it."""
    if isinstance(value, Sparse):
        flat = target.reshape(-1)  # a view: the accumulators are contiguous
        flat[value.flat] += value.values
    else:
        target += value


@dataclass(frozen=True)
class BlockPart:
    """What one block added over one chunk: its hosts' use and every measure's adds."""

    host_used: F32  # (block hosts × steps)
    adds: dict[str, list[Any]]  # accumulator name → values added, in order


@dataclass(frozen=True)
class ChunkPart:
    """A group's blocks over one chunk, in block order."""

    group: int
    index: int  # of the chunk
    blocks: list[BlockPart]


class ClosingRows:
    """Stands in for the parent's usage sampler when a chunk is closed: the rows the
    closing measures ask for — never-placed pods' CPU (``TenantSums``) and GPU pods' use
    (``GpuUse``) — made by the parent's sampler when it drew the chunk (it draws ahead
    of the chunk it closes), for exactly those pods."""

    def __init__(self, unplaced: I64, unplaced_cpu: F32, gpu_pods: I64, gpu_want: F32) -> None:
        self.unplaced, self.unplaced_cpu = unplaced, unplaced_cpu
        self.gpu_pods, self.gpu_want = gpu_pods, gpu_want

    def rows(self, idx: I64) -> tuple[F32, F32]:
        """The never-placed pods' CPU (memory is not asked for: an empty column)."""
        if not np.array_equal(idx, self.unplaced):
            raise ValueError("rows asked for pods other than the never-placed ones")
        return self.unplaced_cpu, np.zeros((len(idx), 0), np.float32)

    def gpu_rows(self, idx: I64, share: F32) -> F32:
        """The GPU pods' use."""
        if not np.array_equal(idx, self.gpu_pods):
            raise ValueError("GPU rows asked for pods other than the GPU pods")
        return self.gpu_want


class ChunkDrawer:
    """The parent's side of the usage draws: each chunk's drawn once, in order, by the
    parent's own sampler (:meth:`UsageSampler.draw`, into arrays a runner gives, e.g.
    shared memory), for the workers to share. Drawing a chunk also begins it in the
    parent's sampler and keeps the rows its closing needs (:class:`ClosingRows`), so the
    arrays are free again as soon as every worker has stepped the chunk.

    The replay is set up by ``prepare`` when first asked for (a runner starts its workers
    first, and the parent sets up while they do); ``steps`` are the scenario's."""

    def __init__(self, prepare: Callable[[], Replay], steps: int) -> None:
        self._prepare = prepare
        self._replay: Replay | None = None
        self.spans = chunk_spans(steps)
        self.closing: dict[int, ClosingRows] = {}
        self.cpu_seconds = 0.0  # spent drawing, in this process

    @property
    def replay(self) -> Replay:
        """The parent's replay (set up now if it was not yet)."""
        if self._replay is None:
            self._replay = self._prepare()
        return self._replay

    def shapes(self, index: int | None = None) -> list[DrawShape]:
        """The arrays of chunk ``index``'s draws (None: of a whole chunk, the largest)."""
        if not self.spans:
            return []
        start, stop = self.spans[0 if index is None else index]
        return self.replay.sampler.draw_shapes(stop - start)

    def draw(self, index: int, out: list[NDArray[Any]] | None = None) -> ChunkDraws:
        """Chunk ``index``'s draws, into ``out`` (arrays of :meth:`shapes`) if given."""
        started = time.process_time()
        start, stop = self.spans[index]
        r, sampler = self.replay, self.replay.sampler
        draws = sampler.draw(start, stop, out)
        sampler.begin(start, stop, draws=draws)
        unplaced, gpus = r.sums.unplaced, r.gpu_use.gpus
        n = stop - start
        self.closing[index] = ClosingRows(
            unplaced,
            sampler.rows(unplaced)[0] if len(unplaced) else np.zeros((0, n), np.float32),
            gpus.pods,
            sampler.gpu_rows(gpus.pods, gpus.share)
            if len(gpus.pods)
            else np.zeros((0, n), np.float32),
        )
        self.cpu_seconds += time.process_time() - started
        return draws


@dataclass(frozen=True)
class GroupTotals:
    """A group's counts over the whole run (whole numbers: exact in any order)."""

    group: int
    latency_hist: F64
    at_full: float
    active_host_steps: float
    seconds: float  # the worker's own wall time (setting up included)
    cpu_seconds: float  # the CPU time of the worker's process (this group's alone in a process)


class GroupReplay:
    """A worker's side: the replay set up, its own blocks stepped chunk by chunk."""

    def __init__(self, job: PartitionJob) -> None:
        self.started, self.cpu_started = time.perf_counter(), time.process_time()
        self.group = job.group
        with _block_pods(job.block_pods):
            self.replay = prepare_replay(job.scenario, job.defaults, job.placement, seed=job.seed)
        runs = split_blocks([block_work(b) for b in self.replay.blocks], job.groups)
        b0, b1 = runs[job.group] if job.group < len(runs) else (0, 0)
        self.blocks = self.replay.blocks[b0:b1]
        self.t_count = len(job.scenario.tenants)
        self.steps = job.scenario.simulation.steps

    def chunk(self, index: int, draws: ChunkDraws | None = None) -> ChunkPart:
        """Step the group's blocks through chunk ``index``, with the parent's ``draws``
        (None: drawn here)."""
        start, stop = chunk_spans(self.steps)[index]
        n = stop - start
        r = self.replay
        parts: list[BlockPart] = []
        if self.blocks:  # (a group with nothing to do needs no usage)
            r.sampler.begin(start, stop, draws=draws)
        for blk in self.blocks:
            step = r.stepper.step(blk, r.sampler, n)
            adds = self._record(n)
            for measure in r.measures:
                measure.observe(step)
            parts.append(
                BlockPart(
                    step.host_used,
                    {k: [_compact(v) for v in a.items] for k, a in adds.items() if a.items},
                )
            )
        return ChunkPart(self.group, index, parts)

    def _record(self, n: int) -> dict[str, Adds]:
        """Fresh :class:`Adds` in place of the order-dependent accumulators."""
        r, t = self.replay, self.t_count
        adds = {f"acc:{k}": Adds() for k in r.sums.acc}
        adds["got"], adds["want"] = Adds((t, n)), Adds((t, n))
        adds["slow"], adds["matrix"] = Adds(), Adds()
        setattr(r.sums, "acc", {k: adds[f"acc:{k}"] for k in r.sums.acc})  # noqa: B010
        setattr(r.sums, "_got", adds["got"])  # noqa: B010
        setattr(r.sums, "_want", adds["want"])  # noqa: B010
        setattr(r.slowdown, "slow", adds["slow"])  # noqa: B010
        setattr(r.interference, "matrix", adds["matrix"])  # noqa: B010
        return adds

    def totals(self) -> GroupTotals:
        """The group's whole-number counts."""
        r = self.replay
        return GroupTotals(
            self.group,
            r.latency.hist,
            r.hosts.at_full,
            r.hosts.active_host_steps,
            time.perf_counter() - self.started,
            time.process_time() - self.cpu_started,
        )


Message = ChunkPart | GroupTotals
Runner = Callable[[list[PartitionJob], ChunkDrawer], Iterable[Message]]
"""Runs the jobs somewhere and yields their messages: each group's chunks in order, then
its totals (groups may interleave). It has each chunk drawn by the parent's
:class:`ChunkDrawer`, in order, and hands the draws to every group."""


def serial_groups(jobs: list[PartitionJob], drawer: ChunkDrawer) -> Iterator[Message]:
    """Every group in this process, one after another within each chunk (for tests, and
    to check a partition without processes)."""
    workers = [GroupReplay(job) for job in jobs]
    for index in range(len(drawer.spans)):
        draws = drawer.draw(index)
        for w in workers:
            yield w.chunk(index, draws)
    for w in workers:
        yield w.totals()


@dataclass
class _Inbox:
    """Messages received ahead of the chunk being folded."""

    groups: int
    chunks: dict[int, dict[int, ChunkPart]] = field(default_factory=dict)
    totals: dict[int, GroupTotals] = field(default_factory=dict)

    def take(self, message: Message) -> None:
        if isinstance(message, GroupTotals):
            self.totals[message.group] = message
        else:
            self.chunks.setdefault(message.index, {})[message.group] = message

    def ready(self, index: int) -> list[ChunkPart] | None:
        got = self.chunks.get(index, {})
        if len(got) < self.groups:
            return None
        del self.chunks[index]
        return [got[g] for g in range(self.groups)]


def simulate_groups(
    scenario: Scenario,
    defaults: Defaults,
    placement: SubstratePlacement,
    *,
    groups: int,
    runner: Runner = serial_groups,
    seed: int | None = None,
    progress: Callable[[int], None] | None = None,
    block_pods: int | None = None,
) -> SubstrateSimulation:
    """Replay ``placement`` in ``groups`` groups of whole hosts run by ``runner``, with the
    figures of :func:`~underlay.simulation.engine.simulate_substrate` (``seconds`` aside:
    it is the wall time of this run). ``progress(n)`` hears of steps folded."""
    started = time.perf_counter()

    def prepare() -> Replay:
        with _block_pods(block_pods):
            return prepare_replay(scenario, defaults, placement, seed=seed)

    # The workers start before the parent sets its own replay up (the drawer does, when
    # first asked to draw), so their groups are bounded by the blocks there can be, not
    # the blocks there are: a worker whose group gets no block sends empty chunks.
    with _block_pods(block_pods):
        groups = max(1, min(groups, block_module.most_blocks(int(placement.placed.sum()))))
    if groups == 1:
        runner = serial_groups  # one group: no worker to start
    jobs = [
        PartitionJob(scenario, defaults, placement, seed, groups, g, block_pods)
        for g in range(groups)
    ]
    inbox = _Inbox(len(jobs))
    drawer = ChunkDrawer(prepare, scenario.simulation.steps)
    spans = drawer.spans
    folded = 0
    for message in runner(jobs, drawer):
        inbox.take(message)
        while folded < len(spans) and (parts := inbox.ready(folded)) is not None:
            _fold_chunk(drawer.replay, spans[folded], parts, drawer.closing.pop(folded))
            folded += 1
            if progress:
                progress(spans[folded - 1][1] - spans[folded - 1][0])
    if folded < len(spans) or len(inbox.totals) < len(jobs):
        raise RuntimeError("a partitioned replay's workers ended before sending everything")
    replay = drawer.replay
    for totals in (inbox.totals[g] for g in range(len(jobs))):
        replay.latency.hist += totals.latency_hist
        replay.hosts.at_full += totals.at_full
        replay.hosts.active_host_steps += totals.active_host_steps
    return finish_replay(replay, started)


def _fold_chunk(
    replay: Replay, span: tuple[int, int], parts: list[ChunkPart], closing: ClosingRows
) -> None:
    """Make the additions of every block of one chunk, in the engine's block order, then
    close the chunk as the engine does (with the rows the parent made when it drew it)."""
    start, stop = span
    n = stop - start
    sampler = cast(UsageSampler, closing)  # typed as the sampler it stands for
    host_used = np.zeros((len(replay.placement.hosts), n), np.float32)
    host_used += replay.stepper.host_idle_load
    block_parts = [b for part in parts for b in part.blocks]
    if len(block_parts) != len(replay.blocks):
        raise RuntimeError(
            f"a partitioned replay got {len(block_parts)} blocks for chunk {start}, "
            f"expected {len(replay.blocks)}"
        )
    sums = replay.sums
    for blk, part in zip(replay.blocks, block_parts, strict=True):
        host_used[blk.hosts] += part.host_used
        for name, values in part.adds.items():
            target = _target(sums, replay, name, n)
            for value in values:
                _add(target, value)
    chunk = Chunk(start, stop, sampler, host_used)
    for measure in replay.closing:
        measure.end_chunk(chunk)


def _target(sums: TenantSums, replay: Replay, name: str, n: int) -> NDArray[Any]:
    """The parent's accumulator ``name`` (the per-step SLA sums made for ``n`` steps, as
    :meth:`TenantSums.observe` makes them)."""
    if name.startswith("acc:"):
        return sums.acc[name[4:]]
    if name in ("got", "want"):
        if sums._got.shape[1] != n:
            t = sums.t_count
            sums._got, sums._want = np.zeros((t, n)), np.zeros((t, n))
        out: NDArray[Any] = sums._got if name == "got" else sums._want
        return out
    if name == "slow":
        return replay.slowdown.slow
    if name == "matrix":
        return replay.interference.matrix
    raise ValueError(f"unknown accumulator {name!r}")
