"""A kernel's CPU is its own: water-filled alone or in a block with other kernels, every
pod of it gets the same grant, bit for bit.

``share_by_weight`` finishes the few kernels still busy after ``ROUNDS`` rounds on their
own (smaller arrays). Were they restarted from nothing and their grants added to what
they had (``given + (a + b)`` in place of ``(given + a) + b``), the last bit of a grant
would depend on which other kernels share the block, so on the block size. Every step of
the arithmetic is per pod or a sum over the kernel's own pods, so nothing else may.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from underlay.simulation.contention import (
    MIN_SHARES_MILLI,
    Kernels,
    cpu_on_kernels,
    share_by_weight,
)
from underlay.simulation.scratch import Scratch

F32 = NDArray[np.float32]

# One kernel: (want, weight) per pod, over ``steps`` steps, and its free CPU per step.
millicores = st.floats(0, 8000, width=32)
weights = st.sampled_from([2.0, 100.0, 250.0, 1000.0, 1500.0, 4000.0])


@st.composite
def fleets(draw: st.DrawFn) -> tuple[list[F32], list[F32], list[F32]]:
    """A few kernels (1-7 pods each) over 1-4 steps: want, weight and free of each."""
    steps = draw(st.integers(1, 4))
    wants, kweights, frees = [], [], []
    for _ in range(draw(st.integers(2, 9))):
        pods = draw(st.integers(1, 7))
        want = draw(st.lists(millicores, min_size=pods * steps, max_size=pods * steps))
        wants.append(np.array(want, np.float32).reshape(pods, steps))
        kweights.append(np.array(draw(st.lists(weights, min_size=pods, max_size=pods)), np.float32))
        free = draw(st.lists(millicores, min_size=steps, max_size=steps))
        frees.append(np.array(free, np.float32)[None, :])
    return wants, kweights, frees


def _kernels(counts: list[int]) -> Kernels:
    c = np.array(counts, np.int64)
    return Kernels(starts=np.cumsum(c) - c, counts=c)


def _alone_and_together(
    fleet: tuple[list[F32], list[F32], list[F32]],
) -> tuple[list[F32], list[F32]]:
    wants, kweights, frees = fleet
    want = np.concatenate(wants)
    weight = np.broadcast_to(np.concatenate(kweights)[:, None], want.shape)
    together = share_by_weight(
        want, weight, np.concatenate(frees), _kernels([len(w) for w in wants])
    )
    ends = np.cumsum([len(w) for w in wants])
    parts = np.split(together, ends[:-1])
    alone = [
        share_by_weight(w, np.broadcast_to(k[:, None], w.shape), f, _kernels([len(w)]))
        for w, k, f in zip(wants, kweights, frees, strict=True)
    ]
    return alone, parts


# Eight kernels, seven of them done in round 1 (they want less than is free), one of six
# pods with weights far apart: it fills over more than ROUNDS rounds and is finished on
# its own (1 < 8 // 2) — the path whose sums used to run in another order (found by a
# random search: restarted from 0, the third pod got 2591.5994m with the others and
# 2591.5996m alone).
_BUSY = (
    [np.array([[1.0]], np.float32)] * 7
    + [np.array([[51.3], [6181.2], [7826.1], [4719.0], [2557.5], [1500.1]], np.float32)],
    [np.array([1000.0], np.float32)] * 7
    + [np.array([1000.0, 100.0, 2.0, 1000.0, 4000.0, 2.0], np.float32)],
    [np.array([[5000.0]], np.float32)] * 7 + [np.array([[17600.7]], np.float32)],
)


@settings(max_examples=300, deadline=None)
@given(fleets())
@example(_BUSY)
def test_a_kernels_grants_do_not_depend_on_the_other_kernels(
    fleet: tuple[list[F32], list[F32], list[F32]],
) -> None:
    alone, together = _alone_and_together(fleet)
    for one, part in zip(alone, together, strict=True):
        assert one.dtype == part.dtype == np.float32
        assert one.tobytes() == part.tobytes(), (one, part)


def test_the_busy_example_takes_the_path_of_kernels_finished_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The example must reach the subset path, or it proves nothing.
    calls: list[int] = []
    subset = Kernels.subset

    def spy(self: Kernels, kernels: NDArray[np.int64]) -> tuple[Kernels, NDArray[np.int64]]:
        calls.append(len(kernels))
        return subset(self, kernels)

    monkeypatch.setattr(Kernels, "subset", spy)
    _alone_and_together(_BUSY)
    assert calls == [1]  # the busy kernel, finished alone once


@settings(max_examples=100, deadline=None)
@given(fleets())
def test_cpu_on_kernels_grants_per_kernel_too(
    fleet: tuple[list[F32], list[F32], list[F32]],
) -> None:
    # cpu_on_kernels: requests from the weights (a 2m weight is a pod without request),
    # demand = want + request; the pods that never want more than their request drop out
    # of the sharing, which must not change anyone else's grant either.
    wants, kweights, frees = fleet
    requests = [np.where(k <= MIN_SHARES_MILLI, 0, k)[:, None].astype(np.float32) for k in kweights]
    demands = [(w + r).astype(np.float32) for w, r in zip(wants, requests, strict=True)]
    caps = [(f + r.sum()).astype(np.float32) for f, r in zip(frees, requests, strict=True)]
    inf = np.full((1, 1), np.inf, np.float32)
    together = cpu_on_kernels(
        np.concatenate(demands),
        np.concatenate(requests),
        inf,
        np.concatenate(caps),
        _kernels([len(d) for d in demands]),
    )
    ends = np.cumsum([len(d) for d in demands])
    for d, r, c, part in zip(
        demands, requests, caps, np.split(together.granted, ends[:-1]), strict=True
    ):
        one = cpu_on_kernels(d, r, inf, c, _kernels([len(d)]))
        assert one.granted.tobytes() == part.tobytes()


@settings(max_examples=50, deadline=None)
@given(st.lists(fleets(), min_size=2, max_size=4))
def test_kept_buffers_give_what_fresh_arrays_give(
    fleet_list: list[tuple[list[F32], list[F32], list[F32]]],
) -> None:
    # One Scratch across calls of different shapes (blocks of other sizes, chunks of
    # other lengths): each call's results are those of a call with fresh arrays.
    scratch = Scratch()
    inf = np.full((1, 1), np.inf, np.float32)
    for wants, kweights, frees in fleet_list:
        want = np.concatenate(wants)
        request = np.concatenate(kweights)[:, None]
        demand = (want + request).astype(np.float32)
        cap = (np.concatenate(frees) + np.float32(3000)).astype(np.float32)
        kernels = _kernels([len(w) for w in wants])
        kept = cpu_on_kernels(demand, request, inf, cap, kernels, scratch)
        fresh = cpu_on_kernels(demand, request, inf, cap, kernels)
        for name in ("granted", "unmet", "burst"):
            assert getattr(kept, name).tobytes() == getattr(fresh, name).tobytes(), name
