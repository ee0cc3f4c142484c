"""The Kubernetes release calendar: published dates carried exactly, extrapolation past the
data (worked by hand below), version parsing and the skew rules."""

from __future__ import annotations

import copy
import csv
import math
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from properties import examples
from underlay.defaults.releases import CHANNELS, ReleaseCalendar, release_calendar
from underlay.errors import ScenarioError

REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "kubernetes" / "releases.csv"
CSV_COLUMNS = {
    "released": "release_date",
    "upstream": "upstream_eol",
    "eks": "eks_standard_end",
    "eks-extended": "eks_extended_end",
    "aks": "aks_eol",
    "gke": "gke_eol",
}


@pytest.fixture(scope="module")
def cal() -> ReleaseCalendar:
    return release_calendar()


def _raw() -> dict[str, Any]:
    text = resources.files("underlay.defaults").joinpath("kubernetes_releases.yaml").read_text()
    data: dict[str, Any] = yaml.safe_load(text)
    return data


# ---- the data file ----------------------------------------------------------------------


def test_data_file_layout(cal: ReleaseCalendar) -> None:
    assert cal.as_of == date(2026, 11, 27)
    assert (cal.first, cal.last) == (19, 37)
    # every column and rule has a source of more than a few words
    for key in [*CSV_COLUMNS, "cadence", "skew"]:
        assert len(cal.sources[key].split()) >= 8, key


@pytest.mark.skipif(not REAL.is_file(), reason=f"{REAL} not found (only in the dev setup)")
def test_data_file_matches_the_collected_table() -> None:
    rows = {r["version"]: r for r in csv.DictReader(REAL.open(encoding="utf-8"))}
    ours = {r["version"]: r for r in _raw()["releases"]}
    # 1.37 is past the collected table: its scheduled GA date, no end dates
    assert sorted(set(ours) - {"1.37"}) == sorted(rows)
    assert ours["1.37"]["scheduled"] is True and ours["1.37"]["upstream"] is None
    for version, row in rows.items():
        for key, column in CSV_COLUMNS.items():
            value = ours[version][key]
            assert (value.isoformat() if value else "") == row[column], (version, key)


def test_published_dates_are_carried_exactly(cal: ReleaseCalendar) -> None:
    assert cal.release_date(31) == date(2024, 8, 13)
    assert cal.end_of_support(31, "upstream") == date(2025, 11, 11)
    assert cal.end_of_support(31, "eks") == date(2025, 11, 26)
    assert cal.end_of_support(31, "eks-extended") == date(2026, 11, 26)
    assert cal.end_of_support(31, "aks") == date(2025, 11, 1)
    assert cal.end_of_support(31, "gke") == date(2026, 1, 16)
    assert not cal.is_extrapolated(31, "eks-extended")
    # supported from GA up to, not including, the end date
    assert cal.supported(31, "upstream", date(2025, 11, 10))
    assert not cal.supported(31, "upstream", date(2025, 11, 11))
    assert not cal.supported(31, "upstream", date(2024, 8, 12))
    assert cal.supported(31, "eks-extended", date(2026, 11, 25))


def test_newest_released(cal: ReleaseCalendar) -> None:
    assert cal.newest_released(date(2020, 8, 25)) is None  # before 1.19
    assert cal.newest_released(date(2020, 8, 26)) == 19
    assert cal.newest_released(date(2026, 4, 21)) == 35
    assert cal.newest_released(date(2026, 4, 22)) == 36
    assert cal.newest_released(date(2026, 8, 25)) == 36
    assert cal.newest_released(date(2026, 8, 26)) == 37  # as scheduled


# ---- extrapolation ------------------------------------------------------------------------


def test_extrapolation_past_the_last_release(cal: ReleaseCalendar) -> None:
    # cadence: 1.32 (2024-12-11) to 1.37 (2026-08-26, scheduled) is 365 + 258 = 623 days
    # over 5 intervals
    assert cal.cadence_days == pytest.approx(124.6)
    # 1.38 = 2026-08-26 + round(124.6) = 125 days; 1.39 = + round(249.2) = 249 days
    assert cal.release_date(38) == date(2026, 12, 29)
    assert cal.release_date(39) == date(2027, 5, 2)
    # 1.37's GA date is the release team's schedule: an estimate, as is everything after
    assert cal.is_extrapolated(37) and cal.is_extrapolated(38) and not cal.is_extrapolated(36)
    assert cal.release_date(37) == date(2026, 8, 26)
    # upstream windows of 1.31..1.36: 455, 444, 431, 426, 438, 432 days; median (432+438)/2
    assert cal.window_days["upstream"] == 435.0
    assert cal.is_extrapolated(37, "upstream")
    assert cal.end_of_support(37, "upstream") == date(2026, 8, 26) + timedelta(days=435)
    assert cal.end_of_support(37, "upstream") == date(2027, 11, 4)
    # gke windows 521, 486, 467, 400, 480, 474: median (474+480)/2 = 477
    assert cal.window_days["gke"] == 477.0


def test_missing_channel_date_uses_the_median_window(cal: ReleaseCalendar) -> None:
    # eks-extended windows of 1.31..1.36: 835, 832, 827, 827, 831, 833 -> median 831.5,
    # rounded to 832 days; 1.19 (2020-08-26) has no eks-extended date in the data
    assert cal.window_days["eks-extended"] == 831.5
    assert cal.is_extrapolated(19, "eks-extended")
    assert cal.end_of_support(19, "eks-extended") == date(2022, 12, 6)


def _toy(**changes: Any) -> dict[str, Any]:
    """Seven releases 1.50..1.56, 100 days apart from 2030-01-01; upstream windows
    400, 410, ..., 460 days (median of the last 6: (430 + 440) / 2 = 435)."""
    first = date(2030, 1, 1)
    rows = []
    for i in range(7):
        released = first + timedelta(days=100 * i)
        rows.append(
            {"version": f"1.{50 + i}", "released": released,
             "upstream": released + timedelta(days=400 + 10 * i),
             "eks": released + timedelta(days=500), "eks-extended": None if i == 6 else released + timedelta(days=900),
             "aks": released + timedelta(days=450), "gke": released + timedelta(days=480)}
        )  # fmt: skip
    data = copy.deepcopy(_raw())
    data["releases"] = rows
    data.update(changes)
    return data


def test_toy_calendar_by_hand() -> None:
    cal = ReleaseCalendar.from_data(_toy())
    assert cal.cadence_days == 100.0  # (1.56 - 1.51) = 500 days / 5
    assert cal.release_date(59) == date(2030, 1, 1) + timedelta(days=900)
    assert cal.window_days["upstream"] == 435.0
    assert cal.end_of_support(59, "upstream") == cal.release_date(59) + timedelta(days=435)
    assert cal.end_of_support(56, "eks-extended") == cal.release_date(56) + timedelta(days=900)
    assert cal.newest_released(date(2030, 1, 1) + timedelta(days=899)) == 58
    assert cal.newest_released(date(2030, 1, 1) + timedelta(days=900)) == 59


def test_bad_data_files_are_clear() -> None:
    data = _toy()
    del data["releases"][3]
    with pytest.raises(ScenarioError, match="consecutive minor versions"):
        ReleaseCalendar.from_data(data)
    data = _toy()
    data["releases"][2]["released"] = date(2029, 1, 1)
    with pytest.raises(ScenarioError, match="must increase"):
        ReleaseCalendar.from_data(data)
    with pytest.raises(ScenarioError, match=r"releases\.0\.released"):
        data = _toy()
        data["releases"][0]["released"] = "soon"
        ReleaseCalendar.from_data(data)


# ---- versions ------------------------------------------------------------------------------


def test_parse(cal: ReleaseCalendar) -> None:
    assert cal.parse("1.31", "tenants[0].kubernetes_version") == 31
    assert cal.parse("1.40", "x") == 40  # future: dates are estimated


@pytest.mark.parametrize("bad", ["2.0", "1.x", "131", "", "v1.31", "1.31.2"])
def test_malformed_version_names_the_field(cal: ReleaseCalendar, bad: str) -> None:
    with pytest.raises(ScenarioError, match=r"^tenants\[2\]\.kubernetes_version: .*'1\.31'"):
        cal.parse(bad, "tenants[2].kubernetes_version")


def test_version_older_than_the_data_is_estimated_backwards(cal: ReleaseCalendar) -> None:
    # 1.18 is one cadence before 1.19 (2020-08-26), its support one median window after that
    assert cal.parse("1.18", "tenants[0].kubernetes_version") == 18
    assert cal.is_extrapolated(18)
    released = cal.release_date(18)
    assert (cal.release_date(19) - released).days == round(cal.cadence_days)
    assert (cal.end_of_support(18, "upstream") - released).days == round(
        cal.window_days["upstream"]
    )
    assert cal.release_date(8) < cal.release_date(18)


# ---- skew ----------------------------------------------------------------------------------


def test_skew_rules(cal: ReleaseCalendar) -> None:
    assert cal.kubelet_skew(27) == 2
    assert cal.kubelet_skew(28) == 3
    assert cal.control_plane_steps(30, 34) == 4
    assert cal.node_rolls(30, 30) == 0
    assert cal.node_rolls(30, 33) == 1  # kubelets 3 behind a 1.33 API server: allowed
    assert cal.node_rolls(30, 34) == 2  # 4 behind is not: roll once at 1.33, once at the end
    assert cal.node_rolls(30, 37) == 3
    # before 1.28 the kubelet may lag 2: 1.24 -> 1.27 needs a roll at 1.26 (API 1.27 vs 1.24)
    assert cal.node_rolls(24, 27) == 2
    # 1.25 -> 1.28: API 1.27 is 2 ahead (ok before 1.28), API 1.28 is 3 ahead (ok since)
    assert cal.node_rolls(25, 28) == 1
    with pytest.raises(ValueError, match="no downgrades"):
        cal.node_rolls(31, 30)


@settings(max_examples=examples(200), deadline=None)
@given(a=st.integers(19, 60), jump=st.integers(0, 15))
def test_skew_properties(a: int, jump: int) -> None:
    cal = release_calendar()
    b = a + jump
    assert cal.control_plane_steps(a, b) == jump
    rolls = cal.node_rolls(a, b)
    assert (rolls == 0) == (jump == 0)
    assert rolls <= jump
    if a >= 27:  # every API server on the way is 1.28+: kubelets may lag 3
        assert rolls == math.ceil(jump / 3)


@settings(max_examples=examples(200), deadline=None)
@given(days=st.integers(0, 20 * 365))
def test_newest_released_brackets_the_day(days: int) -> None:
    cal = release_calendar()
    on = date(2020, 8, 26) + timedelta(days=days)
    newest = cal.newest_released(on)
    assert newest is not None
    assert cal.release_date(newest) <= on < cal.release_date(newest + 1)
    assert cal.newest_released(on + timedelta(days=1)) in (newest, newest + 1)


@pytest.mark.parametrize("channel", CHANNELS)
def test_every_channel_ends_after_release(cal: ReleaseCalendar, channel: str) -> None:
    for minor in range(cal.first, cal.last + 10):
        assert cal.support_window_days(minor, channel) > 0  # type: ignore[arg-type]
