"""Every numeric field of every import format has a range, checked a column at a time:
the bounds themselves are accepted, anything beyond, NaN and infinity are refused with
the file, the first offending line, the column and the range."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from underlay.errors import TraceError
from underlay.importers.alibaba2018 import ALIBABA_BOUNDS
from underlay.importers.bitbrains import BITBRAINS_BOUNDS, read_bitbrains
from underlay.importers.openb_trace import NODE_BOUNDS, POD_BOUNDS, read_openb_pods
from underlay.importers.planetlab import PERCENT, read_planetlab
from underlay.importers.ranges import (
    MAX_CORES,
    MAX_TRACE_TIME_S,
    Bounds,
    parse_numbers,
    parse_whole,
    text_column,
)
from underlay.importers.trace_format import TRACE_BOUNDS, read_trace
from underlay.model.scenario import MAX_CPU_MILLI, MAX_MEMORY_MIB

HERE = Path("data.csv")
ALL_BOUNDS = {
    **{f"trace {k}": b for k, b in TRACE_BOUNDS.items()},
    **{f"bitbrains {k}": b for k, b in BITBRAINS_BOUNDS.items()},
    **{f"alibaba2018 {k}": b for k, b in ALIBABA_BOUNDS.items()},
    **{f"openb node {k}": b for k, b in NODE_BOUNDS.items()},
    **{f"openb pod {k}": b for k, b in POD_BOUNDS.items()},
    "planetlab cpu_percent": PERCENT,
}


def _message(cells: list[str], bounds: Bounds, **kw: object) -> str:
    with pytest.raises(TraceError) as info:
        parse_numbers(HERE, list(range(2, 2 + len(cells))), "col", cells, bounds, **kw)  # type: ignore[arg-type]
    return str(info.value)


@pytest.mark.parametrize("bounds", ALL_BOUNDS.values(), ids=list(ALL_BOUNDS))
def test_every_range_accepts_its_bounds_and_refuses_beyond(bounds: Bounds) -> None:
    low = bounds.low if not bounds.above_low else bounds.low + (1 if bounds.whole else 1e-9)
    ok = [repr(float(low)), repr(float(bounds.high))]
    assert parse_numbers(HERE, [2, 3], "col", ok, bounds).tolist() == [low, bounds.high]
    step = 1.0 if bounds.whole else max(1e-9, bounds.high * 1e-9)
    for beyond in (bounds.high + step, bounds.low - step, float(bounds.low)):
        if beyond == bounds.low and not bounds.above_low:
            continue
        assert "is out of range" in _message(["1", repr(beyond)], bounds) or "negative" in (
            _message(["1", repr(beyond)], bounds)
        )
    for bad in ("nan", "inf", "-inf", "1e309"):
        assert f"line 2, column 'col': {bad!r} is not a finite number" in _message([bad], bounds)
    # the shared bounds are the scenario model's: nothing beyond them loads
    assert bounds.high <= max(MAX_CPU_MILLI, MAX_MEMORY_MIB * 1024, 4_102_444_800)


def test_first_offending_line_and_range_in_the_message() -> None:
    bounds = Bounds(0, 100, "%")
    text = _message(["5", "150", "-1", "x"], bounds)
    # 'x' (line 5) cannot be parsed, so it is found first: the whole column is refused
    assert (
        text
        == "data.csv, line 5, column 'col': 'x' is not a number; expected a number from 0 to 100%"
    )
    text = _message(["5", "150", "-1"], bounds)
    assert (
        text
        == "data.csv, line 3, column 'col': '150' is out of range; expected a number from 0 to 100%"
    )
    assert "line 2, column 'col': '-1' is negative" in _message(["-1", "150"], bounds)
    assert "line 3, column 'col': empty; expected" in _message(["1", " "], bounds)
    whole = Bounds(1, 10, whole=True)
    assert "'2.5' is not a whole number; expected a whole number from 1 to 10" in _message(
        ["2.5"], whole
    )
    assert "'0' is out of range" in _message(["0"], Bounds(0, 1, above_low=True))


def test_blanks_and_sentinels() -> None:
    bounds = Bounds(0, 100)
    values = parse_numbers(HERE, [1, 2, 3, 4], "c", ["", "-1", "101", "50"], bounds,
                           blank=np.nan, sentinels=(-1.0, 101.0))  # fmt: skip
    assert np.isnan(values[0]) and values[1:].tolist() == [-1.0, 101.0, 50.0]
    # a literal nan is not a blank: refused
    assert "'nan' is not a finite number" in _message(["", "nan"], bounds, blank=np.nan)


def test_whole_numbers_never_overflow() -> None:
    bounds = Bounds(0, MAX_TRACE_TIME_S, whole=True)
    assert parse_whole(HERE, [2], "t", ["12.0"], bounds).tolist() == [12]
    assert parse_whole(HERE, [2], "t", [" 7 "], bounds).dtype == np.int64
    with pytest.raises(TraceError, match="'99999999999999999999' is out of range"):
        parse_whole(HERE, [2], "t", ["99999999999999999999"], bounds)
    with pytest.raises(TraceError, match="is not a finite number"):
        parse_whole(HERE, [2], "t", ["9" * 400], bounds)
    with pytest.raises(ValueError, match="whole-number bounds"):
        parse_whole(HERE, [2], "t", ["1"], Bounds(0, 1))


def test_trace_reader_bounds(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        f"series,time_s,cpu_cores,memory_mib\na,0,{MAX_CORES},{MAX_MEMORY_MIB}\n"
        f"a,{MAX_TRACE_TIME_S},0,0\n"
    )
    s = read_trace(path)["a"]
    assert s.cpu_cores.tolist() == [MAX_CORES, 0] and s.time_s[-1] == MAX_TRACE_TIME_S
    path.write_text(f"series,time_s,cpu_cores,memory_mib\na,0,0,0\na,1,{MAX_CORES + 0.5},0\n")
    with pytest.raises(TraceError, match=r"line 3, column 'cpu_cores': '4096.5' is out of range"):
        read_trace(path)


def test_bitbrains_usage_in_cores_is_bounded(tmp_path: Path) -> None:
    header = ("Timestamp [ms]; CPU cores; CPU capacity provisioned [MHZ]; CPU usage [MHZ]; "
              "Memory capacity provisioned [KB]; Memory usage [KB]\n")  # fmt: skip
    path = tmp_path / "vm.csv"
    # 1 core of 1e-6 MHz using 1 MHz: a million cores, beyond any host
    path.write_text(header + "1000000000; 1; 0.000001; 1; 1024; 1024\n")
    with pytest.raises(
        TraceError, match=r"line 2, column 'CPU usage \[MHZ\]': '1' MHz is 1e\+06 cores"
    ):
        read_bitbrains(path)
    # ten years after the first file's start is the most a trace spans
    path.write_text(header + "1000000000; 2; 5000; 2500; 1024; 1024\n")
    assert read_bitbrains(path).cpu_cores.tolist() == [1.0]


def test_planetlab_and_openb_boundaries(tmp_path: Path) -> None:
    vm = tmp_path / "vm"
    vm.write_text("0\n100\n")
    assert read_planetlab(vm).cpu_percent.tolist() == [0.0, 100.0]
    pods = tmp_path / "pods.csv"
    pods.write_text(
        "name,cpu_milli,memory_mib,num_gpu,gpu_milli,creation_time\n"
        f"p,{MAX_CPU_MILLI},{MAX_MEMORY_MIB},16,1000,{MAX_TRACE_TIME_S}\nq,0,0,1,1,\n"
    )
    table = read_openb_pods(pods)
    assert table.cpu_milli.tolist() == [MAX_CPU_MILLI, 0]
    assert table.creation_time.tolist() == [MAX_TRACE_TIME_S, -1]
    pods.write_text("name,cpu_milli,memory_mib,num_gpu,gpu_milli\np,1,1,17,1000\n")
    with pytest.raises(TraceError, match="line 2, column 'num_gpu': '17' is out of range"):
        read_openb_pods(pods)


def test_blank_cells_of_spaces_and_long_text_cells() -> None:
    values = parse_numbers(HERE, [1, 2, 3], "c", ["", "  ", "5"], Bounds(0, 9), blank=-2.0)
    assert values.tolist() == [-2.0, -2.0, 5.0]
    names = text_column(HERE, [1, 2], "id", [" a ", "b"], 3, required="id")
    assert names.tolist() == ["a", "b"]
    with pytest.raises(
        TraceError, match=r"line 2, column 'id': 'bbbb'\.\.\. is 4 characters long; at most 3"
    ):
        text_column(HERE, [1, 2], "id", ["a", "bbbb"], 3)
    with pytest.raises(TraceError, match=r"line 2, column 'id': empty id"):
        text_column(HERE, [1, 2], "id", ["a", " "], 3, required="id")
