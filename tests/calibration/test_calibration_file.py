"""The calibration file: written by underlay, read back, and refused when wrong (one line
naming the file, the line and the field)."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from calibration_factories import make_calibration
from hypothesis import given
from hypothesis import strategies as st

from underlay.calibration.file import read_calibration, write_calibration
from underlay.calibration.results import Figure
from underlay.errors import CalibrationError, InputError
from underlay.model.calibration import load_calibration, numeric_defaults, parse_calibration

GOOD = textwrap.dedent(
    """\
    calibration: 1
    host: worker-17
    measured_at: "2026-12-03T08:00:00Z"
    cpu_model: "Intel(R) Xeon(R) test"
    cores: 2
    cgroup: v1
    duration_s: 20
    figures:
      - default: interference.slowdown_at_full_load
        value: 0.07
        unit: share of work lost
        how: "probe work lost beside a memory-bandwidth hog"
      - default: hypervisors.kvm.cpu_overhead_percent
        value: null
        not_measured: "/dev/kvm not usable: open() failed with EACCES"
    """
)


def test_the_documented_example_reads() -> None:
    cal = parse_calibration(GOOD, source="c.yaml")
    assert (cal.host, cal.cores, cal.cgroup, cal.duration_s) == ("worker-17", 2, "v1", 20)
    assert [f.value for f in cal.figures] == [0.07, None]


def test_write_then_read_gives_the_same_figures(tmp_path: Path) -> None:
    cal = make_calibration()
    target = tmp_path / "calibration.yaml"
    write_calibration(cal, target)
    back = read_calibration(target)
    assert (back.host, back.measured_at, back.cores, back.cgroup) == (
        "lab-1",
        "2026-12-03T08:00:00Z",
        2,
        "v1",
    )
    assert back.figures == cal.figures  # cited figures looked up again from the defaults
    assert yaml.safe_load(target.read_text())["calibration"] == 1


def test_a_figure_naming_no_default_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    bad = make_calibration(
        figures=[Figure(default="interference.slowdown", cited=0.1, measured=0.2, unit="", how="")]
    )
    target = tmp_path / "calibration.yaml"
    target.write_text("old content\n")
    with pytest.raises(CalibrationError, match=r"figures\[0\]\.default.*not a numeric default"):
        write_calibration(bad, target)
    assert target.read_text() == "old content\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["calibration.yaml"]


def test_an_unwritable_target_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot write"):
        write_calibration(make_calibration(), tmp_path / "missing-folder" / "c.yaml")


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        # (old text, new text) -> the one line of the error
        (("cores: 2", "cores: two"), r"c\.yaml: line 5: cores: .*number"),
        (("cores: 2", "cores: 2\ncolour: red"), r"line 6: colour: unknown key 'colour'"),
        (("cgroup: v1", "cgroup: v3"), r"line 6: cgroup: "),
        (("calibration: 1", "calibration: 2"), r"line 1: calibration: "),
        (("duration_s: 20", "duration_s: -1"), r"line 7: duration_s: "),
        (
            ('"2026-12-03T08:00:00Z"', "yesterday"),
            r"line 3: measured_at: 'yesterday' is not an ISO",
        ),
        (
            ("slowdown_at_full_load", "slowdown_at_full_lod"),
            r"line 9: figures\[0\]\.default: .*did you mean 'interference\.slowdown_at_full_load'",
        ),
        (
            ("hypervisors.kvm.cpu_overhead_percent", "hypervisors.kvm.source"),
            r"line 13: figures\[1\]\.default: .*not a numeric default",
        ),
        (("value: 0.07", "value: 1.5"), r"line 10: figures\[0\]\.value: .*less than or equal to 1"),
        (("value: 0.07", "value: .nan"), r"line 10: figures\[0\]\.value: .*finite"),
        (("value: 0.07", "value: '0.07'"), r"line 10: figures\[0\]\.value: .*number"),
        (
            ('    not_measured: "/dev/kvm not usable: open() failed with EACCES"\n', ""),
            r"line 13: figures\[1\]: value is null: say why",
        ),
        (
            ("value: 0.07", "value: 0.07\n    not_measured: x"),
            r"line 9: figures\[0\]: give a value or not_measured",
        ),
        (("cores: 2", "cores: 2\ncores: 3"), r"cores"),
        (
            ("hypervisors.kvm.cpu_overhead_percent", "interference.slowdown_at_full_load"),
            r"line 13: figures\[1\]\.default: .*already figure 0",
        ),
    ],
)
def test_a_bad_file_is_one_clear_error(edit: tuple[str, str], expected: str) -> None:
    old, new = edit
    assert old in GOOD
    with pytest.raises(CalibrationError, match=expected) as info:
        parse_calibration(GOOD.replace(old, new, 1), source="c.yaml")
    assert str(info.value).startswith("c.yaml")
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"", "empty"), (b"- a\n- b\n", "mapping"), (b"\xff\xfe", "not UTF-8"), (b"a: [", "YAML")],
)
def test_not_a_calibration_file_is_refused(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(content)
    with pytest.raises(CalibrationError, match=expected):
        load_calibration(path)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(CalibrationError, match=r"c\.yaml: no such file"):
        load_calibration(tmp_path / "c.yaml")


def test_numeric_defaults_are_the_numbers_under_mappings_only() -> None:
    known = numeric_defaults()
    assert known["interference.slowdown_at_full_load"] == 0.1  # defaults.yaml
    assert known["hypervisors.kvm.cpu_overhead_percent"] == 2.0
    assert "interference.source" not in known  # text
    assert not any("memory_tiers" in p for p in known)  # inside lists


@given(value=st.floats(min_value=0, max_value=1, allow_nan=False))
def test_any_measured_share_in_range_round_trips(
    tmp_path_factory: pytest.TempPathFactory, value: float
) -> None:
    cal = make_calibration()
    fig = replace(cal.figures[0], measured=value)
    cal = replace(cal, figures=[fig])
    target = tmp_path_factory.mktemp("c") / "c.yaml"
    write_calibration(cal, target)
    assert read_calibration(target).figures[0].measured == value
