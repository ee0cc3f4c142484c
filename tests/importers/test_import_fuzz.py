"""Fuzzing every import format from its small valid fixtures (tests/fixtures/<format>/).

Hypothesis mutates a fixture — flips a byte, truncates, swaps two columns of a line,
puts an odd number (``nan``, ``1e309``, 20 digits, ``0x10`` ...) in place of a number,
duplicates or drops a line — and runs the importer. It must either succeed or raise
:class:`~underlay.errors.InputError` (a placed message, exit 2): never any other
exception. When it succeeds, what it writes must read back: the scenario loads and its
trace file passes the trace reader.

Like every property test, they run derandomised under the default ``ci`` profile (the same
examples on every run, so CI is reproducible), bounded to a few seconds;
``UNDERLAY_HYPOTHESIS_SCALE=20 scripts/test-random tests/importers/test_import_fuzz.py``
runs them with fresh randomness and 20 times the examples (README, "Development").
Every counterexample ever found is kept as an ``@example``.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from properties import examples
from underlay.errors import InputError
from underlay.importers.alibaba2018 import alibaba2018_import
from underlay.importers.bitbrains import bitbrains_import
from underlay.importers.kubectl import import_kubectl
from underlay.importers.openb import openb_scenario, render
from underlay.importers.planetlab import planetlab_import
from underlay.importers.trace_format import read_trace
from underlay.importers.trace_import import ImportedTrace, write_import
from underlay.model.loading import load_scenario, parse_scenario

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# The seed (derandomised or fresh) comes from the profile (tests/conftest.py).
FUZZ = settings(
    max_examples=examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

ODD_NUMBERS = (
    "nan", "NaN", "inf", "-inf", "Infinity", "1e308", "1e309", "-1e308", "-0", "-1", "0",
    "99999999999999999999", "1e-320", "0x10", "1_0", "", " ", "+5", "5.", ".", "１２",
    "9" * 400, "1e999999999", "\x00", "é",
)  # fmt: skip
_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


@st.composite
def mutations(draw: st.DrawFn, data: bytes, sep: bytes) -> bytes:
    """``data`` changed by one to three mutations; ``sep`` separates its columns."""
    for op in draw(st.lists(st.sampled_from(_OPS), min_size=1, max_size=3)):
        data = op(draw, data, sep)
    return data


def _flip(draw: st.DrawFn, data: bytes, sep: bytes) -> bytes:
    if not data:
        return data
    at = draw(st.integers(0, len(data) - 1))
    return data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]


def _truncate(draw: st.DrawFn, data: bytes, sep: bytes) -> bytes:
    return data[: draw(st.integers(0, len(data)))]


def _lines(draw: st.DrawFn, data: bytes) -> tuple[list[bytes], int]:
    lines = data.split(b"\n")
    return lines, draw(st.integers(0, len(lines) - 1))


def _swap(draw: st.DrawFn, data: bytes, sep: bytes) -> bytes:
    lines, i = _lines(draw, data)
    fields = lines[i].split(sep)
    if len(fields) > 1:
        a, b = draw(st.integers(0, len(fields) - 1)), draw(st.integers(0, len(fields) - 1))
        fields[a], fields[b] = fields[b], fields[a]
        lines[i] = sep.join(fields)
    return b"\n".join(lines)


def _odd(draw: st.DrawFn, data: bytes, sep: bytes) -> bytes:
    numbers = list(_NUMBER.finditer(data))
    if not numbers:
        return data
    m = numbers[draw(st.integers(0, len(numbers) - 1))]
    odd = draw(st.sampled_from(ODD_NUMBERS)).encode()
    return data[: m.start()] + odd + data[m.end() :]


def _duplicate_or_drop(draw: st.DrawFn, data: bytes, sep: bytes) -> bytes:
    lines, i = _lines(draw, data)
    if draw(st.booleans()):
        lines.insert(i, lines[i])
    else:
        del lines[i]
    return b"\n".join(lines)


_OPS: tuple[Callable[[st.DrawFn, bytes, bytes], bytes], ...] = (
    _flip, _truncate, _swap, _odd, _odd, _duplicate_or_drop,
)  # fmt: skip


def _mutated_copy(fmt: str, which: str, data: bytes, tmp: Path) -> Path:
    """The fixtures of ``fmt`` copied to ``tmp``, file ``which`` replaced by ``data``."""
    folder = tmp / fmt
    shutil.copytree(FIXTURES / fmt, folder)
    (folder / which).write_bytes(data)
    return folder


def _check_written(result: ImportedTrace, tmp: Path) -> None:
    """An import that succeeded writes a scenario that loads and a trace that reads."""
    scenario = tmp / "out" / "imported.yaml"
    scenario.parent.mkdir()
    trace = write_import(scenario, result)
    assert read_trace(trace)
    load_scenario(scenario)


def _fixture(fmt: str, name: str) -> bytes:
    return (FIXTURES / fmt / name).read_bytes()


# ------------------------------------------------------------------------------ bitbrains


@FUZZ
@given(data=st.sampled_from(["vm-a.csv", "vm-b.csv"]).flatmap(
    lambda n: st.tuples(st.just(n), mutations(_fixture("bitbrains", n), b";"))
))  # fmt: skip
def test_bitbrains_fuzz(data: tuple[str, bytes]) -> None:
    which, text = data
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        folder = _mutated_copy("bitbrains", which, text, tmp)
        try:
            result = bitbrains_import([folder], trace_file="imported.trace.csv")
        except InputError:
            return
        _check_written(result, tmp)


# ------------------------------------------------------------------------------ planetlab


@FUZZ
@given(data=st.sampled_from(["vm-a", "vm-b", "vm-c"]).flatmap(
    lambda n: st.tuples(st.just(n), mutations(_fixture("planetlab/day", n), b" "))
))  # fmt: skip
def test_planetlab_fuzz(data: tuple[str, bytes]) -> None:
    which, text = data
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        folder = _mutated_copy("planetlab", f"day/{which}", text, tmp)
        try:
            result = planetlab_import(folder / "day", trace_file="imported.trace.csv", group=2)
        except InputError:
            return
        _check_written(result, tmp)


# ---------------------------------------------------------------------------- alibaba2018

_ALIBABA = ("machine_usage.csv", "machine_meta.csv", "container_usage.csv", "container_meta.csv")


@FUZZ
@given(
    data=st.sampled_from(_ALIBABA).flatmap(
        lambda n: st.tuples(st.just(n), mutations(_fixture("alibaba2018", n), b","))
    ),
    containers=st.booleans(),
)
def test_alibaba2018_fuzz(data: tuple[str, bytes], containers: bool) -> None:
    which, text = data
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        d = _mutated_copy("alibaba2018", which, text, tmp)
        extra = (
            {"containers_path": d / _ALIBABA[2], "container_meta_path": d / _ALIBABA[3]}
            if containers
            else {}
        )
        try:
            result = alibaba2018_import(
                d / _ALIBABA[0], d / _ALIBABA[1], trace_file="imported.trace.csv", **extra
            )
        except InputError:
            return
        _check_written(result, tmp)


# ---------------------------------------------------------------------------------- openb


@FUZZ
# Found by the fuzzer: a control character in pod_phase reached the header comment,
# which YAML refuses (the scenario written did not load).
@example(
    data=(
        "pods_long.csv",
        _fixture("openb", "pods_long.csv").replace(b"LS,Running", b"LS,Run\x1bning"),
    )
)
@given(data=st.sampled_from(["nodes.csv", "pods_long.csv", "pods_short.csv"]).flatmap(
    lambda n: st.tuples(st.just(n), mutations(_fixture("openb", n), b","))
))  # fmt: skip
def test_openb_fuzz(data: tuple[str, bytes]) -> None:
    which, text = data
    with tempfile.TemporaryDirectory() as name:
        d = _mutated_copy("openb", which, text, Path(name))
        pods = d / ("pods_short.csv" if which == "pods_short.csv" else "pods_long.csv")
        try:
            scenario, header = openb_scenario(d / "nodes.csv", pods)
        except InputError:
            return
        parse_scenario(render(scenario, header), source="fuzzed openb import")


# -------------------------------------------------------------------------------- kubectl


@settings(FUZZ, max_examples=examples(40))
@given(data=st.sampled_from(["nodes.json", "pods.json"]).flatmap(
    lambda n: st.tuples(st.just(n), mutations(_fixture("kubectl", n), b","))
))  # fmt: skip
def test_kubectl_fuzz(data: tuple[str, bytes]) -> None:
    which, text = data
    with tempfile.TemporaryDirectory() as name:
        d = _mutated_copy("kubectl", which, text, Path(name))
        try:
            imported = import_kubectl(d / "nodes.json", d / "pods.json")
        except InputError:
            return
        parse_scenario(imported.text, source="fuzzed kubectl import")


# ---------------------------------------------------------------------- the trace format


@settings(FUZZ, max_examples=examples(100))
@given(text=mutations(_fixture("trace", "usage.trace.csv"), b","))
def test_trace_format_fuzz(text: bytes) -> None:
    with tempfile.TemporaryDirectory() as name:
        path = Path(name) / "usage.trace.csv"
        path.write_bytes(text)
        try:
            series = read_trace(path)
        except InputError:
            return
        for s in series.values():  # what the reader accepts is within the format's ranges
            assert len(s) > 0 and (s.cpu_cores >= 0).all() and (s.memory_mib >= 0).all()
            assert (s.time_s[1:] > s.time_s[:-1]).all()
