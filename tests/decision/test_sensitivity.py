"""Sensitivity by hand: the weight where the verdict flips, and the tornado's flip points."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from decision_factories import make_evidence
from underlay.decision.scorecard import score
from underlay.decision.sensitivity import margin, sensitivity, weight_ranges
from underlay.defaults.catalog import load_defaults
from underlay.model.scenario import FACTORS

EQUAL = dict.fromkeys(FACTORS, 1.0)


def two_way():  # type: ignore[no-untyped-def]
    # shared: cost score 100, isolation 100/3 (2 escapes a year); vm: cost 60, isolation 100,
    # performance 98; versions and sla tie at 100.
    return make_evidence(
        ["a", "b"],
        ["baremetal-shared", "vm"],
        cost=[[60, 100], [60, 100]],
        capex=[[60, 100], [60, 100]],
        exposure=[[2.0, 0.0], [2.0, 0.0]],
        throughput=[[1.0, 0.98], [1.0, 0.98]],
    )


def test_cost_weight_flip_by_hand() -> None:
    # vm wins at equal weights. vm − shared per factor: perf −2, iso +200/3, cost −40.
    # With w_cost = w: −2 + 200/3 − 40 w > 0  ⇔  w < (200/3 − 2) / 40 = 1.61667
    ranges = {r.factor: r for r in weight_ranges(two_way(), EQUAL)}
    cost = ranges["cost"]
    assert cost.low is None
    assert cost.high == pytest.approx((200 / 3 - 2) / 40)
    assert cost.flips_to == "baremetal-shared"
    # isolation: −2 − 40 + (200/3) w > 0  ⇔  w > 42 / (200/3) = 0.63
    iso = ranges["isolation"]
    assert iso.low == pytest.approx(42 / (200 / 3)) and iso.high is None
    # versions and sla tie: their weights cannot change the verdict
    assert ranges["versions"].low is None and ranges["versions"].high is None
    assert ranges["sla"].flips_to is None
    # just past the flip point the verdict changes, just before it does not
    e = two_way()
    assert score(e, {**EQUAL, "cost": cost.high - 1e-6}).verdict.winner == "vm"
    assert score(e, {**EQUAL, "cost": cost.high + 1e-6}).verdict.winner == "baremetal-shared"


def test_tornado_flip_of_the_container_escape_rate_by_hand() -> None:
    # Scaling the container escape rate by k scales shared's exposure 2 → 2k: isolation
    # 100 / (1 + 2k). vm leads by −2 + (100 − 100/(1+2k)) − 40 (sum of weighted diffs).
    # It flips when 100/(1+2k) = 100 − 42 = 58 → k = (100/58 − 1) / 2 = 0.36207
    e = two_way()
    d = load_defaults()
    sens = sensitivity(e, EQUAL, d)
    bars = {b.parameter: b for b in sens.tornado}
    rate = bars["container escape rate"]
    base = d.security.container_escapes_per_year
    assert rate.base == pytest.approx(base)
    assert rate.flip_low == pytest.approx(base * (100 / 58 - 1) / 2, rel=1e-6)
    assert rate.flip_high is None
    assert rate.winner_low == "vm" and rate.winner_high == "vm"
    # at half the rate: vm's lead = (−2 + 100 − 50 − 40) / 5 = 1.6 points
    assert rate.margin_low == pytest.approx((100 - 100 / 2 - 42) / 5)
    # hardware price: shared's cost 120 → 120k, vm's 200 → 200k: ratios unchanged, no flip
    hw = bars["hardware price"]
    assert hw.margin_low == pytest.approx(hw.margin_high)
    assert hw.flip_low is None and hw.flip_high is None
    # bars sorted by how much the margin moves
    spans = [b.span for b in sens.tornado]
    assert spans == sorted(spans, reverse=True)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.0, 5.0), min_size=5, max_size=5), st.data())
def test_weight_ranges_bracket_the_flip(ws: list[float], data: st.DataObject) -> None:
    if not any(ws):
        ws = [1.0] * 5
    weights = dict(zip(FACTORS, ws, strict=True))
    e = make_evidence(
        ["a", "b", "c"],
        ["baremetal-shared", "vm", "sandboxed"],
        cost=data.draw(
            st.lists(st.lists(st.floats(1, 1000), min_size=3, max_size=3), min_size=3, max_size=3)
        ),
        exposure=data.draw(
            st.lists(st.lists(st.floats(0, 10), min_size=3, max_size=3), min_size=3, max_size=3)
        ),
        throughput=data.draw(
            st.lists(st.lists(st.floats(0.5, 1), min_size=3, max_size=3), min_size=3, max_size=3)
        ),
    )
    winner = score(e, weights).verdict.winner
    for r in weight_ranges(e, weights):
        for bound, step in ((r.low, -1e-4), (r.high, 1e-4)):
            if bound is None or bound + step < 0 or abs(bound - r.weight) < 1e-3:
                continue
            inside = score(e, {**weights, r.factor: bound - step}).verdict.winner
            outside = score(e, {**weights, r.factor: bound + step})
            assert inside == winner
            if outside.verdict.margin > 1e-6:  # not a three-way tie at the flip point
                assert outside.verdict.winner != winner


def test_margin_is_negative_once_flipped() -> None:
    e = two_way()
    m, best = margin(e, {**EQUAL, "cost": 3.0}, winner=1)
    assert m < 0 and best == 0


def test_only_substrates_placing_as_many_pods_can_overtake_the_winner() -> None:
    # vm leaves b's 10 pods unplaced (its cost there $0); shared places all 20, so it wins
    # whatever the weights: no range ends, no tornado bar, and the sensitivity says why.
    e = make_evidence(
        ["a", "b"],
        ["baremetal-shared", "vm"],
        cost=[[100, 50], [100, 0]],
        capex=[[100, 50], [100, 0]],
        placed=[[1, 1], [1, 0]],
        exposure=[[2.0, 0.0], [2.0, 0.0]],
    )
    sens = sensitivity(e, EQUAL, load_defaults())
    assert all(r.low is None and r.high is None and r.flips_to is None for r in sens.weights)
    assert sens.tornado == []
    assert sens.notes == [
        "the verdict rests on placement: no other substrate places as many pods as "
        "baremetal-shared, so no weight or default can flip it"
    ]
    assert margin(e, EQUAL, winner=0) == (float("inf"), 0)
    # a third substrate placing every pod is a rival: the margin is taken against it alone
    # (sandboxed, neutral everywhere but cost $300 a tenant: cost score 200/600 → 33.3;
    # shared: isolation 100/3. Totals: shared (400 + 100/3)/5, sandboxed (400 + 100/3)/5)
    three = make_evidence(
        ["a", "b"],
        ["baremetal-shared", "vm", "sandboxed"],
        cost=[[100, 50, 300], [100, 0, 300]],
        placed=[[1, 1, 1], [1, 0, 1]],
        exposure=[[2.0, 0.0, 0.0], [2.0, 0.0, 0.0]],
    )
    m, best = margin(three, EQUAL, winner=0)
    assert m == pytest.approx((400 + 100 / 3) / 5 - (400 + 100 / 3) / 5, abs=1e-9)
    assert best == 0  # a tie keeps the scenario's order
