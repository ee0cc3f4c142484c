"""The partitioned replay gives the single-process figures, every one of them (issue 15).

A replay split into 1, 2 and 3 groups of whole hosts — in this process, in local
processes and on Ray — must give a ``SubstrateSimulation`` equal to the engine's in every
field, array and float, bit for bit (``seconds`` aside: wall time). Small fleets are one
block at the engine's block size, so both runs cut them into blocks of a few pods
(``block_pods``): a group is a run of whole blocks. The parent draws each chunk's usage
once and hands the draws to every group (in this process, through shared memory to local
processes, through the object store on Ray); the ring of shared memory is gone however
the replay ends.
"""

from __future__ import annotations

import dataclasses
import itertools
import multiprocessing
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_simulation_properties import PROPERTY, scenarios

from underlay.defaults.catalog import load_defaults
from underlay.model.loading import load_scenario
from underlay.model.scenario import Scenario
from underlay.pipeline import compare
from underlay.simulation import blocks as block_module
from underlay.simulation import partition_workers
from underlay.simulation.engine import prepare_replay, simulate_substrate
from underlay.simulation.partition import (
    ChunkDrawer,
    GroupReplay,
    PartitionJob,
    simulate_groups,
)
from underlay.simulation.partition_groups import (
    KERNEL_WORK,
    MIN_POD_STEPS,
    block_work,
    chunk_spans,
    default_workers,
    split_blocks,
)
from underlay.simulation.results import SubstrateSimulation
from underlay.simulation.shared_draws import PREFIX

EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "underlay" / "examples"
BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))

from replay_baseline.compare import differences  # noqa: E402


def single(scenario: Scenario, placement: Any, block_pods: int) -> SubstrateSimulation:
    """The engine's replay with blocks of ``block_pods`` pods."""
    defaults = load_defaults()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(block_module, "BLOCK_PODS", block_pods)
        return simulate_substrate(scenario, defaults, placement)


def drawer(scenario: Scenario, defaults: Any, placement: Any) -> ChunkDrawer:
    """The parent's drawer of a replay of ``placement``, as ``simulate_groups`` makes it."""
    return ChunkDrawer(
        lambda: prepare_replay(scenario, defaults, placement, seed=None),
        scenario.simulation.steps,
    )


def test_differences_sees_a_change() -> None:
    """The comparison itself can fail: one float's last bit, one array element."""
    sc = load_scenario(EXAMPLES / "hybrid-platform.yaml")
    placement = compare(sc, substrates=["vm"]).placements[0]
    one = single(sc, placement, 8)
    t0 = one.tenants[0]
    nudged = dataclasses.replace(
        t0, demand_core_hours=float(np.nextafter(t0.demand_core_hours, np.inf))
    )
    assert differences(one, dataclasses.replace(one, tenants=[nudged, *one.tenants[1:]]))
    util = one.host_utilisation_mean.copy()
    util[0] += 1e-12 if util[0] else 1.0
    assert differences(one, dataclasses.replace(one, host_utilisation_mean=util))
    assert not differences(one, one)


@pytest.mark.parametrize(
    ("example", "substrates"),
    [
        ("saas-platform", ["baremetal-dedicated", "baremetal-shared", "vm", "sandboxed"]),
        ("ai-platform", None),  # GPUs: MIG, time-slicing, passthrough, vGPU
        ("hybrid-platform", None),
    ],
)
def test_examples_in_one_two_three_groups(example: str, substrates: list[str] | None) -> None:
    """Every substrate of the bundled examples: 1, 2 and 3 groups, figures identical."""
    sc = load_scenario(EXAMPLES / f"{example}.yaml")
    comparison = compare(sc, substrates=substrates)
    for placement in comparison.placements:
        one = single(sc, placement, 64)
        for groups in (1, 2, 3):
            parted = simulate_groups(
                sc, comparison.defaults, placement, groups=groups, block_pods=64
            )
            assert not differences(one, parted), (placement.name, groups)


@settings(PROPERTY, max_examples=max(4, PROPERTY.max_examples // 3))
@given(scenario=scenarios(), block_pods=st.integers(1, 6), seed=st.integers(0, 2**31))
def test_partition_never_changes_a_figure(scenario: Scenario, block_pods: int, seed: int) -> None:
    """Random small fleets on every substrate (VMs with overcommit, sandboxes, GPUs,
    kills, pods left unplaced), blocks of 1–6 pods, any seed: 1, 2 and 3 groups give the
    engine's figures."""
    comparison = compare(scenario)
    for placement in comparison.placements:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(block_module, "BLOCK_PODS", block_pods)
            one = simulate_substrate(scenario, comparison.defaults, placement, seed=seed)
        for groups in (1, 2, 3):
            parted = simulate_groups(
                scenario,
                comparison.defaults,
                placement,
                groups=groups,
                seed=seed,
                block_pods=block_pods,
            )
            assert not differences(one, parted), (placement.name, groups)


@given(sizes=st.lists(st.integers(1, 1000), max_size=40), groups=st.integers(1, 8))
def test_split_blocks_cuts_runs_of_whole_blocks(sizes: list[int], groups: int) -> None:
    """Consecutive runs, never empty, covering every block once; as many as asked (or as
    blocks); none holding more than its share of the work plus one block."""
    runs = split_blocks([float(x) for x in sizes], groups)
    if not sizes:
        assert runs == [(0, 0)]
        return
    assert len(runs) == min(groups, len(sizes))
    assert runs[0][0] == 0 and runs[-1][1] == len(sizes)
    assert all(b0 < b1 for b0, b1 in runs)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(runs))
    share = sum(sizes) / len(runs)
    assert all(sum(sizes[b0:b1]) <= share + max(sizes) for b0, b1 in runs)


def test_split_blocks_cuts_at_the_nearest_boundary() -> None:
    """Work 4, 1, 1, 4, 4 in two: half is 7; the boundaries around it are at 6 (after the
    third block) and 10 (after the fourth): 6 is nearer, so runs of 6 and 8, not 10 and 4.
    Equal blocks split evenly; a first block heavier than the rest is a run of its own."""
    assert split_blocks([4.0, 1.0, 1.0, 4.0, 4.0], 2) == [(0, 3), (3, 5)]
    assert split_blocks([3.0] * 4, 2) == [(0, 2), (2, 4)]
    assert split_blocks([10.0, 1.0, 1.0, 1.0, 1.0], 2) == [(0, 1), (1, 5)]
    # thirds of 12.5 are 4.17 and 8.33: boundaries at 2 | 5 and 6.5 | 10.5, nearer 5 and 6.5
    assert split_blocks([2.0, 3.0, 1.5, 4.0, 2.0], 3) == [(0, 2), (2, 3), (3, 5)]


def test_block_work_counts_a_kernel_as_kernel_work_pods() -> None:
    """A block's work is its pods plus KERNEL_WORK per kernel (node or VM) it holds: on
    the hybrid example's vm placement, in blocks of 8 pods, per block."""
    sc = load_scenario(EXAMPLES / "hybrid-platform.yaml")
    placement = compare(sc, substrates=["vm"]).placements[0]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(block_module, "BLOCK_PODS", 8)
        blocks = prepare_replay(sc, load_defaults(), placement, seed=None).blocks
    assert len(blocks) > 2
    for blk in blocks:
        pods, kernels = blk.p1 - blk.p0, blk.kernels.n
        assert pods >= 1 and kernels >= 1
        assert block_work(blk) == pods + KERNEL_WORK * kernels


def test_default_workers_from_fleet_size() -> None:
    """One per core from MIN_POD_STEPS placed pod-steps; one below it."""
    assert default_workers(1_000_000, 288, cores=2) == 2  # 288 M ≥ 200 M
    assert default_workers(100_000, 288, cores=2) == 1  # 28.8 M < 200 M
    assert default_workers(MIN_POD_STEPS, 1, cores=4) == 4
    assert default_workers(MIN_POD_STEPS - 1, 1, cores=4) == 1
    assert default_workers(MIN_POD_STEPS, 1, cores=0) == 1


def test_chunk_spans_are_the_engines() -> None:
    """Chunks of 32 steps, the last one short."""
    assert chunk_spans(70) == [(0, 32), (32, 64), (64, 70)]
    assert chunk_spans(0) == []


@pytest.fixture(scope="module")
def saas() -> tuple[Scenario, Any]:
    sc = load_scenario(EXAMPLES / "saas-platform.yaml")
    return sc, compare(sc, substrates=["vm", "baremetal-shared"])


def test_local_processes_give_the_same_figures(saas: tuple[Scenario, Any]) -> None:
    """Two and three worker processes (fork server), figures identical."""
    sc, comparison = saas
    for placement in comparison.placements:
        one = single(sc, placement, 8)
        for groups in (2, 3):
            parted = simulate_groups(
                sc,
                comparison.defaults,
                placement,
                groups=groups,
                runner=partition_workers.process_groups,
                block_pods=8,
            )
            assert not differences(one, parted), (placement.name, groups)


def test_most_blocks_bounds_the_blocks_cut(saas: tuple[Scenario, Any]) -> None:
    """``most_blocks``: placed pods ÷ block size + 1, never fewer than the blocks cut."""
    sc, comparison = saas
    placement = comparison.placements[0]
    placed = int(placement.placed.sum())
    for size in (8, 150, 380, 10_000):
        cut = len(prepare_replay_blocks(sc, comparison.defaults, placement, size))
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(block_module, "BLOCK_PODS", size)
            bound = block_module.most_blocks(placed)
        assert bound == placed // size + 1
        assert cut <= bound, size


def test_more_workers_than_blocks_give_the_same_figures(saas: tuple[Scenario, Any]) -> None:
    """Workers start before the parent cuts its blocks, so their number is bounded only
    by the blocks there can be (placed pods ÷ block size + 1): with blocks of 380 pods
    the example's vm fleet has fewer blocks than that bound, and the workers whose group
    gets no block send empty chunks; the figures are the same."""
    sc, comparison = saas
    placement = comparison.placements[0]
    one = single(sc, placement, 380)
    blocks = len(prepare_replay_blocks(sc, comparison.defaults, placement, 380))
    placed = int(placement.placed.sum())
    assert placed // 380 + 1 > blocks  # some worker is left without a block
    parted = simulate_groups(
        sc,
        comparison.defaults,
        placement,
        groups=placed // 380 + 1,
        runner=partition_workers.process_groups,
        block_pods=380,
    )
    assert not differences(one, parted)


def prepare_replay_blocks(sc: Scenario, defaults: Any, placement: Any, block_pods: int) -> Any:
    """The blocks of a replay of ``placement`` cut at ``block_pods`` pods."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(block_module, "BLOCK_PODS", block_pods)
        return prepare_replay(sc, defaults, placement, seed=None).blocks


def test_workers_stop_when_the_replay_stops_early(
    saas: tuple[Scenario, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replay ended after its first message (as an error or Ctrl-C in the parent ends
    it) leaves no worker running."""
    sc, comparison = saas
    seen: list[Any] = []
    real_stop = partition_workers._stop

    def stop(procs: list[Any]) -> None:
        seen.extend(procs)
        real_stop(procs)

    monkeypatch.setattr(partition_workers, "_stop", stop)
    placement = comparison.placements[0]
    jobs = [PartitionJob(sc, comparison.defaults, placement, None, 2, g, 8) for g in range(2)]
    messages = partition_workers.process_groups(jobs, drawer(sc, comparison.defaults, placement))
    next(messages)
    messages.close()
    assert len(seen) == 2
    for proc in seen:
        assert proc.exitcode is not None
        with pytest.raises(ProcessLookupError):
            os.kill(proc.pid, 0)


def test_a_failing_worker_is_one_clear_error(saas: tuple[Scenario, Any]) -> None:
    """A worker that cannot replay its group ends the replay with WorkerError naming it."""
    sc, comparison = saas
    placement = comparison.placements[0]
    broken = dataclasses.replace(placement, pod_nodes=[n + 10**9 for n in placement.pod_nodes])
    jobs = [PartitionJob(sc, comparison.defaults, broken, None, 1, 0, 8)]
    with pytest.raises(partition_workers.WorkerError, match=r"worker 1 failed: IndexError"):
        list(partition_workers.process_groups(jobs, drawer(sc, comparison.defaults, placement)))


def test_ray_local_gives_the_same_figures(saas: tuple[Scenario, Any]) -> None:
    """Ray actors (a local Ray instance of 2 CPUs, 3 groups), figures identical."""
    pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'underlay[ray]'")
    sc, comparison = saas
    placement = comparison.placements[0]
    one = single(sc, placement, 8)
    with partition_workers.RaySession(partition_workers.LOCAL, 2) as ray:
        assert ray.cpus() == 2
        parted = simulate_groups(
            sc, comparison.defaults, placement, groups=3, runner=ray, block_pods=8
        )
    assert not differences(one, parted)


@given(
    size=st.integers(1, 6000),
    nonzero=st.lists(
        st.tuples(st.integers(0, 5999), st.floats(-1e6, 1e6, allow_nan=False)), max_size=40
    ),
    dense=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_a_sparse_add_is_the_dense_add(
    size: int, nonzero: list[tuple[int, float]], dense: bool, seed: int
) -> None:
    """An add sent as its nonzero entries leaves the accumulator as the dense add does, bit
    for bit (a zero added changes nothing); only large, mostly-zero adds are sent so."""
    from underlay.simulation.partition import Sparse, _add, _compact

    rng = np.random.default_rng(seed)
    value = rng.normal(size=(1, size)) if dense else np.zeros((1, size))
    for i, v in nonzero:
        value[0, i % size] = v
    start = rng.normal(size=(1, size)) * 1e3
    expected = start.copy()
    expected += value
    sent = _compact(value)
    assert isinstance(sent, Sparse) == (size >= 4096 and np.count_nonzero(value) * 4 < size)
    folded = start.copy()
    _add(folded, sent)
    assert np.array_equal(expected, folded)


def test_adds_keep_every_value_in_order() -> None:
    """The stand-in accumulator keeps what is added, and says the shape it was given."""
    from underlay.simulation.partition import Adds

    acc = Adds((2, 3))
    for x in (1.0, np.ones(3), 2.5):
        acc += x
    assert acc.shape == (2, 3)
    assert [np.asarray(v).tolist() for v in acc.items] == [1.0, [1.0, 1.0, 1.0], 2.5]


def draw_segments() -> list[str]:
    """This process's shared-memory segments of usage draws (a partitioned replay's ring)."""
    return sorted(p.name for p in Path("/dev/shm").glob(f"{PREFIX}_{os.getpid()}_*"))


def saas_jobs(saas: tuple[Scenario, Any], groups: int = 2) -> tuple[list[Any], ChunkDrawer]:
    """The jobs of a replay of the saas example's first placement in ``groups`` groups of
    blocks of 8 pods, and the parent's drawer."""
    sc, comparison = saas
    placement = comparison.placements[0]
    jobs = [
        PartitionJob(sc, comparison.defaults, placement, None, groups, g, 8) for g in range(groups)
    ]
    return jobs, drawer(sc, comparison.defaults, placement)


def test_a_group_stepped_with_the_parents_draws_is_the_group_drawing_itself(
    saas: tuple[Scenario, Any],
) -> None:
    """Every chunk's part of each of 3 groups, byte for byte: drawn by the group itself
    (``chunk(index)``, as every worker did before) and with the draws the parent made."""
    jobs, parent = saas_jobs(saas, 3)
    own = [GroupReplay(job) for job in jobs]
    shared = [GroupReplay(job) for job in jobs]
    for index in range(len(parent.spans)):
        draws = parent.draw(index)
        for a, b in zip(own, shared, strict=True):
            assert pickle.dumps(a.chunk(index)) == pickle.dumps(b.chunk(index, draws))
        # what the parent closes the chunk with: its own rows of the never-placed pods
        closing = parent.closing.pop(index)
        assert closing.unplaced_cpu.shape == (len(closing.unplaced), 32)


@pytest.mark.skipif(not Path("/dev/shm").is_dir(), reason="no /dev/shm on this system")
def test_the_draws_ring_is_there_while_the_workers_run_and_gone_after(
    saas: tuple[Scenario, Any],
) -> None:
    """The parent's shared-memory slots exist during a local-process replay (3 of them,
    the chunks drawn ahead) and are unlinked when it ends; the figures are the engine's."""
    sc, comparison = saas
    placement = comparison.placements[0]
    during: list[list[str]] = []

    def runner(jobs: list[PartitionJob], parent: ChunkDrawer) -> Any:
        for message in partition_workers.process_groups(jobs, parent):
            during.append(draw_segments())
            yield message

    assert draw_segments() == []
    parted = simulate_groups(
        sc, comparison.defaults, placement, groups=2, runner=runner, block_pods=8
    )
    assert during and all(len(names) == partition_workers.SLOTS for names in during)
    assert draw_segments() == []
    assert not differences(single(sc, placement, 8), parted)


def test_a_killed_worker_ends_the_replay_and_leaves_no_segment(
    saas: tuple[Scenario, Any],
) -> None:
    """A worker killed (SIGKILL: no word from it) is one WorkerError naming it; the other
    worker is stopped and the draws' segments are unlinked."""
    jobs, parent = saas_jobs(saas)
    # more chunks than are drawn ahead: no worker can finish before the parent draws more
    assert len(parent.spans) > partition_workers.SLOTS
    messages = partition_workers.process_groups(jobs, parent)
    next(messages)
    workers = [p for p in multiprocessing.active_children() if p.is_alive()]
    assert len(workers) == 2 and len(draw_segments()) == partition_workers.SLOTS
    os.kill(workers[0].pid, signal.SIGKILL)
    with pytest.raises(partition_workers.WorkerError, match=r"ended with exit code -9"):
        list(messages)
    assert draw_segments() == []
    assert not [p for p in workers if p.is_alive()]


def test_ctrl_c_in_the_parent_stops_the_workers_and_leaves_no_segment(
    saas: tuple[Scenario, Any],
) -> None:
    """KeyboardInterrupt while the parent waits for the workers (Ctrl-C) goes through: the
    workers are stopped and the draws' segments unlinked on the way out."""
    jobs, parent = saas_jobs(saas)
    messages = partition_workers.process_groups(jobs, parent)
    next(messages)
    workers = [p for p in multiprocessing.active_children() if p.is_alive()]
    assert len(draw_segments()) == partition_workers.SLOTS
    with pytest.raises(KeyboardInterrupt):
        messages.throw(KeyboardInterrupt)
    assert draw_segments() == []
    assert workers and not [p for p in workers if p.is_alive()]


KILLED_PARENT = """
import os, signal
from pathlib import Path
from underlay.model.loading import load_scenario
from underlay.pipeline import compare
from underlay.simulation.engine import prepare_replay
from underlay.simulation.partition import ChunkDrawer, PartitionJob
from underlay.simulation import partition_workers as pw
sc = load_scenario(Path({path!r}))
comparison = compare(sc, substrates=["vm"])
placement = comparison.placements[0]
jobs = [PartitionJob(sc, comparison.defaults, placement, None, 2, g, 8) for g in range(2)]
replay = prepare_replay(sc, comparison.defaults, placement, seed=None)
messages = pw.process_groups(jobs, ChunkDrawer(lambda: replay, sc.simulation.steps))
next(messages)
print(os.getpid(), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.skipif(not Path("/dev/shm").is_dir(), reason="no /dev/shm on this system")
def test_a_killed_parent_leaves_no_worker_and_no_segment(tmp_path: Path) -> None:
    """The parent killed (SIGKILL: no ``finally``) mid-replay: its workers see it gone and
    end, and with them the last holder of the resource tracker, which unlinks the
    segments the parent made — within seconds, nothing left. (Its output goes to a file,
    not a pipe its workers would hold open, and it is reaped at once, as a shell does: a
    zombie would still look alive to them.)"""
    code = KILLED_PARENT.format(path=str(EXAMPLES / "saas-platform.yaml"))
    out = tmp_path / "out.txt"
    with out.open("w") as sink:
        run = subprocess.run(
            [sys.executable, "-c", code], stdout=sink, stderr=sink, timeout=300, check=False
        )
    assert run.returncode == -signal.SIGKILL, out.read_text()
    pid = int(out.read_text().split()[0])
    left = list(Path("/dev/shm").glob(f"{PREFIX}_{pid}_*"))
    for _ in range(100):  # the workers look for the parent every 0.5 s
        if not left:
            break
        time.sleep(0.2)
        left = list(Path("/dev/shm").glob(f"{PREFIX}_{pid}_*"))
    assert left == []
