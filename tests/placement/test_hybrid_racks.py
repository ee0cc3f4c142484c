"""Hybrid parts with racks of their own (``racks:``), e.g. an edge site in its own rack.

The edge/core scenario of ``test_hybrid_hosts`` (small = 16 cores, 64 GiB; big = 128
cores, 512 GiB): the edge part opens 4 small hosts, the core part 1 big host.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_hybrid import _same
from test_hybrid_hosts import _edge_and_core, _restricted

from factories import place
from properties import examples
from underlay.model.scenario import Hybrid, Scenario


def _with(sc: Scenario, racks: list[list[int]], count: int | None) -> Scenario:
    """``sc`` with ``count`` racks and part i given ``racks[i]``."""
    hybrid = sc.substrates[0]
    assert isinstance(hybrid, Hybrid)
    parts = [p.model_copy(update={"racks": r}) for p, r in zip(hybrid.parts, racks, strict=True)]
    hw = sc.hardware
    topology = hw.topology.model_copy(update={"racks": count})
    data: dict[str, Any] = {
        "substrates": [hybrid.model_copy(update={"parts": parts})],
        "hardware": hw.model_copy(update={"topology": topology}),
    }
    # validated again, so the part checks run on the new racks
    return Scenario.model_validate(sc.model_copy(update=data).model_dump(by_alias=True))


def test_an_edge_part_in_a_rack_of_its_own_by_hand() -> None:
    # 4 racks: the edge part in rack 4, the core part in racks 1 and 2. The edge part's 4
    # hosts all go to rack 4 (index 3); the core part fills its two racks round-robin
    # from its first: its hosts go to racks 1, 2, 1, ... (indices 0, 1, 0, ...).
    sc = _with(_edge_and_core(["small"]), [[4], [1, 2]], 4)
    p = place(sc, "mixed")
    edge, core = p.parts
    racks = np.array(p.hosts.rack)
    assert racks[edge.hosts[0] : edge.hosts[1]].tolist() == [3] * 4
    n_core = core.hosts[1] - core.hosts[0]
    assert racks[core.hosts[0] : core.hosts[1]].tolist() == [i % 2 for i in range(n_core)]
    # without racks the two parts share all four, each from the first
    shared = place(_with(_edge_and_core(["small"]), [[], []], 4), "mixed")
    assert np.array(shared.hosts.rack)[:4].tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize(
    ("racks", "count", "fragment"),
    [
        ([[5], []], 4, "parts.0.racks.0: rack 5 is not one of the 4 racks of"),
        ([[1, 1], []], 4, "parts.0.racks.1: rack 1 is named twice"),
        ([[], [1]], None, "parts.1.racks.0: a part names its racks only when"),
    ],
)
def test_a_part_naming_a_bad_rack_is_an_error(
    racks: list[list[int]], count: int | None, fragment: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(fragment)):
        _with(_edge_and_core(["small"]), racks, count)


@settings(max_examples=examples(15), deadline=None)
@given(_restricted(), st.data())
def test_a_part_never_opens_a_host_outside_its_racks(
    case: tuple[Scenario, list[list[str]], list[int] | None], data: st.DataObject
) -> None:
    sc, _, _ = case
    assert isinstance(sc.substrates[0], Hybrid)
    n = len(sc.substrates[0].parts)
    racks = [
        data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=4, unique=True))
        for _ in range(n)
    ]
    p = place(_with(sc, racks, 4), "mixed")
    for q in p.parts:
        mine = {r - 1 for r in racks[int(q.name[1:])]}
        assert set(p.hosts.rack[q.hosts[0] : q.hosts[1]]) <= mine, q.name
    # every rack of the fleet is among the 4 (the failure analyses count them so)
    assert set(p.hosts.rack) <= {0, 1, 2, 3}


@settings(max_examples=examples(10), deadline=None)
@given(_restricted())
def test_parts_naming_every_rack_place_as_before(
    case: tuple[Scenario, list[list[str]], list[int] | None],
) -> None:
    # racks [1, 2, 3] of 3 for every part is the same as no racks: bit for bit
    sc, _, _ = case
    assert isinstance(sc.substrates[0], Hybrid)
    n = len(sc.substrates[0].parts)
    a = place(_with(sc, [[] for _ in range(n)], 3), "mixed")
    b = place(_with(sc, [[1, 2, 3] for _ in range(n)], 3), "mixed")
    _same(a, b)
    assert a.parts == b.parts and a.notes == b.notes
