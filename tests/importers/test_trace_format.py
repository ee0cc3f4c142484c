"""underlay's trace format: round trip, strict errors naming file/line/column, fuzzing."""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from properties import examples
from underlay.errors import TraceError
from underlay.importers.trace_format import TRACE_COLUMNS, read_trace, write_trace
from underlay.importers.trace_import import (
    comment_block,
    count_gaps,
    requests_from_usage,
    series_names,
    trace_path_for,
    workload_names,
)

HEADER = ",".join(TRACE_COLUMNS) + "\n"


def test_round_trip_sorted_by_series_and_deterministic(tmp_path: Path) -> None:
    path = tmp_path / "t.trace.csv"
    series = [
        ("vm-b", np.array([0.0, 300.0]), np.array([0.25, 1.0]), np.array([512.0, 640.5])),
        ("vm-a", np.array([10.5, 20.0, 30.0]), np.array([0.0, 0.123456, 3.0]),
         np.array([1024.0, 1024.125, 0.0])),
    ]  # fmt: skip
    write_trace(path, series)
    text = path.read_text()
    # Sorted by series name; trailing zeros dropped; fixed decimals.
    assert text.splitlines()[:3] == [
        "series,time_s,cpu_cores,memory_mib",
        "vm-a,10.5,0,1024",
        "vm-a,20,0.123456,1024.125",
    ]
    back = read_trace(path)
    assert list(back) == ["vm-a", "vm-b"]
    for name, t, c, m in series:
        assert back[name].time_s.tolist() == t.tolist()
        assert back[name].cpu_cores.tolist() == c.tolist()
        assert back[name].memory_mib.tolist() == m.tolist()
        assert back[name].time_s.dtype == np.float64
    write_trace(path, list(reversed(series)))
    assert path.read_text() == text  # same arrays, same bytes
    assert not list(tmp_path.glob(".*.tmp"))


def test_rounds_to_fixed_decimals(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    # 1 / 3 core → 6 decimals; 1010.3445 MiB → 3 decimals
    write_trace(path, [("x", np.array([0.0]), np.array([1 / 3]), np.array([1010.34453125]))])
    assert path.read_text().splitlines()[1] == "x,0,0.333333,1010.345"


@pytest.mark.parametrize(
    ("series", "problem"),
    [
        ([("x", [0.0, 0.0], [1.0, 1.0], [1.0, 1.0])], "time_s must increase"),
        ([("x", [0.0], [-1.0], [1.0])], "cpu_cores must be a number from 0 to 4,096 cores"),
        ([("x", [0.0], [1.0], [float("nan")])], "memory_mib must be a number from 0"),
        ([("x", [0.0], [5000.0], [1.0])], "cpu_cores must be a number from 0 to 4,096"),
        ([("x", [0.0], [1.0], [1.0]), ("x", [1.0], [1.0], [1.0])], "given twice"),
        ([("", [0.0], [1.0], [1.0])], "series name"),
        ([("x", [0.0, 1.0], [1.0], [1.0])], "equally long"),
        ([], "at least one series"),
    ],
)
def test_writer_refuses_invalid_series(
    tmp_path: Path, series: list[tuple[str, list[float], list[float], list[float]]], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        write_trace(tmp_path / "t.csv", series)
    assert not list(tmp_path.iterdir())


def test_extra_columns_any_order_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("memory_mib,gpu,series,cpu_cores,time_s\n64,0,a,0.5,0\n\n128,0,a,1,60\n")
    back = read_trace(path)
    assert back["a"].cpu_cores.tolist() == [0.5, 1.0]
    assert back["a"].memory_mib.tolist() == [64.0, 128.0]
    assert len(back["a"]) == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "line 1: empty file"),
        (HEADER, "line 2: no rows"),
        ("series,time_s,cpu_cores\na,0,1\n", "line 1: missing column(s) 'memory_mib'"),
        ("series,time_s,time_s,cpu_cores,memory_mib\n", "line 1, column 'time_s': appears twice"),
        (HEADER + "a,0,1,64\na,60,lots,64\n", "line 3, column 'cpu_cores': 'lots' is not a number"),
        (HEADER + "a,0,1,64\na,60,1,-5\n", "line 3, column 'memory_mib': '-5' is negative"),
        (HEADER + "a,0,1,64\na,60,1,\n", "line 3, column 'memory_mib': empty"),
        (HEADER + "a,0,nan,64\n", "line 2, column 'cpu_cores': 'nan' is not a finite number"),
        (HEADER + "a,60,1,64\na,30,1,64\n", "line 3, column 'time_s': 30 does not increase"),
        (HEADER + "a,60,1,64\na,60,1,64\n", "line 3, column 'time_s': 60 does not increase"),
        (HEADER + "a,0,1,64\nb,0,1,64\na,60,1,64\n", "line 4, column 'series': series 'a' started"),
        (HEADER + ",0,1,64\n", "line 2, column 'series': empty series name"),
        (HEADER + "a,0,1\n", "line 2: expected 4 fields as in the header, found 3"),
    ],
)
def test_strict_errors_name_file_line_column(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.trace.csv"
    path.write_text(text)
    with pytest.raises(TraceError) as info:
        read_trace(path)
    assert str(info.value).startswith(f"{path}, line ")
    assert message in str(info.value)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="no such trace file"):
        read_trace(tmp_path / "missing.csv")
    with pytest.raises(TraceError, match="is a directory"):
        read_trace(tmp_path)
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\xff\xfe\x00series")
    with pytest.raises(TraceError, match=r"not UTF-8|malformed"):
        read_trace(binary)


@settings(
    max_examples=examples(300),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    body=st.text(alphabet=st.sampled_from(list('abc,-.0123456789 \n\r"eEinf_\x00é')), max_size=200),
    header=st.booleans(),
)
def test_reader_never_crashes_on_arbitrary_text(tmp_path: Path, body: str, header: bool) -> None:
    path = tmp_path / "fuzz.csv"
    path.write_text((HEADER if header else "") + body, encoding="utf-8")
    with contextlib.suppress(TraceError):  # anything else fails the test
        read_trace(path)


@settings(
    max_examples=examples(100),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(raw=st.binary(max_size=120))
def test_reader_never_crashes_on_arbitrary_bytes(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "fuzz.csv"
    path.write_bytes(HEADER.encode() + raw)
    with contextlib.suppress(TraceError):  # anything else fails the test
        read_trace(path)


def test_requests_rule() -> None:
    # p95 of [0.1, 0.25, 0.5, 1.5] cores (linear): 0.5 + 0.85 × 1.0 = 1.35 → 1400m;
    # p95 of [512, 1024, 2048, 3072] MiB: 2048 + 0.85 × 1024 = 2918.4 → 46 × 64 = 2944Mi
    cpu = np.array([0.25, 0.5, 1.5, 0.1])
    mem = np.array([1024.0, 2048.0, 512.0, 3072.0])
    assert requests_from_usage([cpu], [mem]) == (1400, 2944)
    # Idle series still request one rounding unit; 0.3 cores stays 300m (no float creep).
    assert requests_from_usage([np.zeros(3)], [np.zeros(3)]) == (100, 64)
    assert requests_from_usage([np.full(4, 0.1 + 0.2)], [np.full(4, 64.0)]) == (300, 64)
    # Several series: the largest percentile wins.
    assert requests_from_usage([np.full(2, 0.1), np.full(2, 2.0)], [np.full(2, 1.0)])[0] == 2000


def test_helpers() -> None:
    assert count_gaps(np.array([0.0, 300, 600, 1800, 2100, 2800]), 300) == 2  # 1200 s, 700 s
    assert trace_path_for("out/s.yaml") == Path("out/s.trace.csv")
    assert workload_names(["a b", "a/b", "x" * 70, "x" * 70, "_"]) == [
        "a-b", "a-b-2", "x" * 63, "x" * 61 + "-2", "w",
    ]  # fmt: skip


def test_series_names_from_file_names_are_valid_and_unique(tmp_path: Path) -> None:
    raw = ["vm\n1", "vm\r1", " padded ", "", "x" * 300]
    names = series_names(raw)
    assert names[:4] == ["vm_1", "vm_1-2", "padded", "series"]
    assert len(names[4]) == 253 and len(set(names)) == len(names)
    # every name is one the writer and the reader accept
    path = tmp_path / "t.csv"
    write_trace(path, [(n, [0.0], [1.0], [1.0]) for n in names])
    assert sorted(read_trace(path)) == sorted(names)


def test_comment_block_keeps_quoted_text_inside_comments() -> None:
    header = "# from a\nb.csv and \x1bc\x85\n# done"
    assert comment_block(header) == "# from a\n# b.csv and  c \n# done"
