"""A chunk's usage draws made once and shared (issue 15, item 4a): the same values, the
same usage, from arrays anywhere — shared memory included.

``UsageSampler.draw`` makes the chunk's draws apart from their use; a sampler given them
(``begin(draws=...)``) must give every pod the usage it gets when it draws itself, bit for
bit, chunk after chunk (the bursts carry over). The draws are the chunk's stream as the
usage module says: ``default_rng([seed, start])``, each model's in the registry's order
(the diurnal model: the workloads' common noise, then each noisy pod's own, standard
normal float32), then the bursts' uniforms (workloads × steps).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from factories import make_scenario, make_tenant, make_workload
from underlay.model.scenario import Scenario
from underlay.placement.substrates import flatten
from underlay.simulation.normals import fill_standard_normal
from underlay.simulation.pods import pod_table
from underlay.simulation.shared_draws import (
    ALIGN,
    PREFIX,
    DrawRing,
    attach_slots,
    carve,
    close_slots,
    slot_bytes,
)
from underlay.simulation.usage import CHUNK_STEPS, UsageSampler

SHM = Path("/dev/shm")
BURSTS = {"burst_probability": 0.2, "burst_factor": 2.5, "burst_steps": 3}


def fleet(seed: int = 0, hours: float = 6) -> Scenario:
    """Three workloads: two diurnal (one noisy, with bursts; one without noise) and a
    constant one with bursts — 3 + 2 + 4 = 9 pods, 72 five-minute steps (3 chunks)."""
    return make_scenario(
        tenants=[
            make_tenant(
                "t",
                workloads=[
                    make_workload(
                        "noisy",
                        replicas=3,
                        usage={"model": "diurnal", "amplitude": 0.3, "noise": 0.2, **BURSTS},
                    ),
                    make_workload("calm", replicas=2, usage={"model": "diurnal", "noise": 0.0}),
                    make_workload("flat", replicas=4, usage={"model": "constant", **BURSTS}),
                ],
            )
        ],
        simulation={"horizon_hours": hours, "step_minutes": 5, "seed": seed},
    )


def sampler(sc: Scenario) -> UsageSampler:
    _, workloads = flatten(sc)
    return UsageSampler(sc, workloads, pod_table(sc, workloads))


def spans(steps: int) -> list[tuple[int, int]]:
    return [(s, min(steps, s + CHUNK_STEPS)) for s in range(0, steps, CHUNK_STEPS)]


def test_the_draws_are_the_chunks_stream_in_the_documented_order() -> None:
    sc = fleet(seed=7)
    s = sampler(sc)
    start, stop = 32, 64
    draws = s.draw(start, stop)
    # By hand: 3 workloads; the noisy pods are the 3 replicas of "noisy" (the calm ones
    # have noise 0 and draw nothing of their own); the constant model draws nothing.
    rng = np.random.default_rng([7, start])
    common, own = np.empty((3, 32), np.float32), np.empty((3, 32), np.float32)
    fill_standard_normal(rng, common)
    fill_standard_normal(rng, own)
    uniforms = rng.random((3, 32))
    (constant, diurnal) = draws.models  # the registry's order: constant, diurnal
    assert constant == ()
    np.testing.assert_array_equal(diurnal[0], common)
    np.testing.assert_array_equal(diurnal[1], own)
    assert draws.bursts is not None
    np.testing.assert_array_equal(draws.bursts, uniforms)
    assert [(a.shape, a.dtype) for a in draws.arrays] == [
        ((3, 32), np.float32),
        ((3, 32), np.float32),
        ((3, 32), np.float64),
    ]
    assert s.draw_shapes(32) == [
        ((3, 32), np.float32),
        ((3, 32), np.float32),
        ((3, 32), np.float64),
    ]


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    asked=st.lists(st.integers(0, 8), min_size=1, max_size=9, unique=True),
)
@example(seed=0, asked=[8, 0, 4])
def test_shared_draws_give_every_pod_the_usage_it_draws_itself(seed: int, asked: list[int]) -> None:
    """Sampler A draws each chunk itself; sampler B takes the draws a third sampler made
    into a shared-memory slot: any pods' rows, every chunk, are the same bits."""
    sc = fleet(seed)
    alone, sharing, parent = sampler(sc), sampler(sc), sampler(sc)
    idx = np.array(asked, np.int64)
    with DrawRing(slot_bytes(parent.draw_shapes(CHUNK_STEPS)), 2) as ring:
        for index, (start, stop) in enumerate(spans(sc.simulation.steps)):
            alone.begin(start, stop)
            draws = parent.draw(start, stop, ring.slot(index, parent.draw_shapes(stop - start)))
            sharing.begin(start, stop, draws=draws)
            for got, want in zip(sharing.rows(idx), alone.rows(idx), strict=True):
                np.testing.assert_array_equal(got, want)
            np.testing.assert_array_equal(sharing.burst_rows(idx), alone.burst_rows(idx))
            del draws


def test_draws_are_checked_against_their_span_and_shapes() -> None:
    s = sampler(fleet())
    draws = s.draw(0, 32)
    later = sampler(fleet())
    later.begin(0, 32)
    with pytest.raises(ValueError, match="draws of steps 0-32 for 32-64"):
        later.begin(32, 64, draws=draws)
    wrong = [np.zeros((3, 31), np.float32), *draws.arrays[1:]]
    with pytest.raises(ValueError, match="other shapes"):
        s.draws_in(0, 32, wrong)
    with pytest.raises(ValueError, match="other shapes"):
        s.draw(0, 32, draws.arrays[:2])


def test_a_slot_holds_each_array_apart_on_its_own_cache_line() -> None:
    shapes = [
        ((3, 5), np.float32),
        ((2, 7), np.float64),
        ((0, 5), np.float32),
        ((1, 1), np.float32),
    ]
    # 3·5·4 = 60 → 64 bytes; 2·7·8 = 112 → 128; 0; 4 → 64: 256 bytes in all.
    assert slot_bytes(shapes) == 64 + 128 + 0 + 64
    assert slot_bytes([]) == 1
    with DrawRing(slot_bytes(shapes), 1) as ring:
        arrays = ring.slot(0, shapes)
        base = arrays[0].__array_interface__["data"][0]
        starts = [a.__array_interface__["data"][0] - base for a in arrays]
        assert starts == [0, 64, 192, 192]
        assert all(s % ALIGN == 0 for s in starts)
        for k, a in enumerate(arrays):
            a[...] = k + 1
        for k, a in enumerate(arrays):
            assert (a == k + 1).all()  # no array wrote over another
        with pytest.raises(ValueError, match="do not fit"):
            carve(ring.segments[0], [((100, 100), np.float64)])
        del arrays, a


def ours() -> list[str]:
    """This process's draw segments in /dev/shm."""
    return sorted(p.name for p in SHM.glob(f"{PREFIX}_{os.getpid()}_*"))


@pytest.mark.skipif(not SHM.is_dir(), reason="no /dev/shm on this system")
def test_the_ring_leaves_no_segment_however_it_ends() -> None:
    with DrawRing(1000, 3) as ring:
        assert ours() == sorted(ring.names) and len(ring.names) == 3
        views = ring.slot(0, [((10, 10), np.float32)])  # still viewed when closed
    assert ours() == []
    del views
    with pytest.raises(RuntimeError), DrawRing(1000, 2):
        assert len(ours()) == 2
        raise RuntimeError("the replay failed")
    assert ours() == []


def test_a_worker_reads_what_the_owner_wrote_and_never_unlinks() -> None:
    with DrawRing(64, 1) as ring:
        names = ring.names
        ring.slot(0, [((4, 4), np.float32)])[0][...] = 3.5
        segments = attach_slots(ring.names)
        seen = carve(segments[0], [((4, 4), np.float32)])[0]
        assert (seen == 3.5).all()
        del seen
        close_slots(segments)
        assert not SHM.is_dir() or ours() == ring.names  # still there for the owner
    with pytest.raises(FileNotFoundError):
        attach_slots(names)  # unlinked by the owner
