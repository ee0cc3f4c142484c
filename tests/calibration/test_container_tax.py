"""The container's CPU tax read from paired rounds (underlay.calibration.container_tax):
the median paired loss when every round lost work in the container, else "not measured"
with the spread in the reason."""

from __future__ import annotations

import statistics

from hypothesis import example, given
from hypothesis import strategies as st

from underlay.calibration.container_tax import MIN_PAIRS, container_tax
from underlay.calibration.results import OverheadRun


def _run(native: tuple[float, ...], container: tuple[float, ...]) -> OverheadRun:
    return OverheadRun(
        "cpu",
        "iterations/CPU-s",
        native=max(native),
        container=max(container) if container else None,
        vm=None,
        native_rounds=native,
        container_rounds=container,
    )


def test_every_round_losing_work_gives_the_median_loss() -> None:
    # losses 5 %, 7 %, 6 %, 30 % (a busy round), 4 %: sorted 4, 5, 6, 7, 30 -> 6 %
    native = (1000.0, 1000.0, 500.0, 1000.0, 2000.0)
    container = (950.0, 930.0, 470.0, 700.0, 1920.0)
    reading = container_tax(_run(native, container))
    assert reading.percent is not None
    assert abs(reading.percent - 6.0) < 1e-9
    assert reading.why_not == ""


def test_rounds_of_both_signs_are_noise_and_say_their_spread() -> None:
    # losses +10 %, −5 %, +2 %, +3 %, −1 %; native rounds 1000…1250: (1250 − 1000) / 1000
    native = (1000.0, 1000.0, 1000.0, 1000.0, 1250.0)
    container = (900.0, 1050.0, 980.0, 970.0, 1262.5)
    reading = container_tax(_run(native, container))
    assert reading.percent is None
    assert reading.why_not == (
        "the container overhead (-5.0 %…+10.0 %, median +2.0 %) is within the run-to-run "
        "noise (the native rounds alone differ by up to 25.0 %); the cited figure is kept"
    )


def test_a_container_faster_in_every_round_is_not_a_tax() -> None:
    reading = container_tax(_run((100.0,) * 5, (101.0, 103.0, 102.0, 110.0, 101.0)))
    assert reading.percent is None
    assert "did more work than native in every round (-10.0 %…-1.0 %)" in reading.why_not


def test_too_few_rounds_are_not_read() -> None:
    reading = container_tax(_run((100.0,) * 3, (90.0, 80.0, 85.0)))
    assert reading.percent is None
    assert f"at least {MIN_PAIRS} are needed" in reading.why_not


def test_no_container_run_says_why() -> None:
    run = OverheadRun("cpu", "it/s", 100.0, None, None, why_not_container="no unshare")
    assert container_tax(run).why_not == "no unshare"
    assert container_tax(None).why_not == "the cpu benchmark did not run"


rates = st.floats(min_value=1.0, max_value=1e9, allow_nan=False)


@given(st.lists(st.tuples(rates, rates), min_size=MIN_PAIRS, max_size=9))
@example([(100.0, 90.0)] * 4 + [(100.0, 100.0)])  # a round exactly even: not all lost
def test_a_tax_is_read_only_when_every_round_lost_work(pairs: list[tuple[float, float]]) -> None:
    native = tuple(n for n, _ in pairs)
    container = tuple(c for _, c in pairs)
    losses = [100 * (1 - c / n) for n, c in pairs]
    reading = container_tax(_run(native, container))
    if all(x > 0 for x in losses):
        assert reading.percent == min(statistics.median(losses), 99.0)
        assert min(losses) <= reading.percent <= max(losses)
    else:
        assert reading.percent is None and reading.why_not
