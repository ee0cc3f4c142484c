"""Buffers kept from call to call (:mod:`underlay.simulation.scratch`): a zero buffer is
all zero whenever it is taken, though only the rows written since are set back."""

from __future__ import annotations

import numpy as np

from underlay.simulation.scratch import Fresh, Scratch


def test_zeros_sets_back_only_the_rows_written_and_is_zero_every_time() -> None:
    scratch = Scratch()
    first = scratch.zeros("unmet", (4, 3), np.float32, np.array([1, 3]))
    assert not first.any()
    first[[1, 3]] = 7.0
    # another shape over the same memory (a smaller block, a shorter chunk): zero again
    second = scratch.zeros("unmet", (5, 2), np.float32, np.array([0]))
    assert second.shape == (5, 2) and not second.any()
    assert np.shares_memory(first, second)  # kept, not a fresh array
    second[0] = 1.0
    third = scratch.zeros("unmet", (4, 3), np.float32, np.array([], np.int64))
    assert not third.any()
    # larger than ever before: a fresh zero buffer
    big = scratch.zeros("unmet", (10, 3), np.float32, np.array([9]))
    assert big.shape == (10, 3) and not big.any()


def test_zeros_is_apart_from_take_of_the_same_name() -> None:
    scratch = Scratch()
    taken = scratch.take("burst", (2, 2), np.float32)
    taken.fill(5.0)
    zero = scratch.zeros("burst", (2, 2), np.float32, np.array([0]))
    assert not zero.any() and not np.shares_memory(taken, zero)


def test_fresh_zeros_is_a_new_array() -> None:
    fresh = Fresh()
    a = fresh.zeros("x", (2, 2), np.float32, np.array([0]))
    a[0] = 1.0
    assert not fresh.zeros("x", (2, 2), np.float32, np.array([0])).any()
