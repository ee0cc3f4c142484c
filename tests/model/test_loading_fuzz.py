"""Fuzzing the scenario format: the bundled examples with keys deleted, values swapped for
odd ones (other types, NaN, huge numbers, impossible dates, paths out of the folder),
keys inserted, text garbled and random bytes spliced in. The loader either loads the
result or raises ScenarioError / InputError — never any other exception.

Derandomised under the default ``ci`` profile, so CI runs the same examples every time, in
a few seconds; ``scripts/test-random`` draws fresh ones.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from properties import examples
from underlay.errors import InputError
from underlay.model.loading import load_scenario, parse_scenario

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TEXTS = {p.name: p.read_text(encoding="utf-8") for p in sorted(EXAMPLES.glob("*.yaml"))}
DATA = {name: yaml.safe_load(text) for name, text in TEXTS.items()}
NAMES = sorted(TEXTS)

FUZZ = settings(  # the seed (derandomised or fresh) comes from the profile (conftest.py)
    max_examples=examples(150),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

ODD_TEXT = [
    "", "~", "0", "-1", "1e999999", "5Zi", "1.5.3", "500m", "4Gi", "2026-02-30", ".nan",
    "../../etc/passwd", "/etc/passwd", "a\x00b", "\u202e", "x" * 300, "1" * 5000, "<<",
]  # fmt: skip
ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(ODD_TEXT),
    st.text(max_size=12),
    st.lists(st.integers(min_value=-5, max_value=5), max_size=3),
    st.dictionaries(st.sampled_from(["cpu", "name", "x", "memory"]), st.integers(), max_size=2),
)


def loads_or_refuses(text: str) -> None:
    """The property: a Scenario, or an InputError naming the source."""
    try:
        parse_scenario(text, source="fuzz.yaml", base_dir=EXAMPLES)
    except InputError as exc:
        assert str(exc).startswith("fuzz.yaml: "), str(exc)


def _slots(data: Any) -> list[tuple[Any, Any]]:
    """Every (container, key or index) of ``data``, depth first in file order."""
    out: list[tuple[Any, Any]] = []
    todo = [data]
    while todo:
        node = todo.pop()
        items = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
        for key, value in items:
            out.append((node, key))
            if isinstance(value, dict | list):
                todo.append(value)
    return out


@st.composite
def mutated_examples(draw: st.DrawFn) -> str:
    data = copy.deepcopy(DATA[draw(st.sampled_from(NAMES))])
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        container, key = draw(st.sampled_from(_slots(data)))
        op = draw(st.sampled_from(["delete", "replace", "insert", "nest"]))
        if op == "delete":
            del container[key]
        elif op == "replace":
            container[key] = draw(ODD_VALUES)
        elif op == "insert" and isinstance(container, dict):
            container[draw(st.sampled_from(["nme", "replica", "cores", "zzz", "<<"]))] = draw(
                ODD_VALUES
            )
        elif op == "nest":
            container[key] = {"value": container[key]}
        if not _slots(data):
            break
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


@st.composite
def garbled_examples(draw: st.DrawFn) -> str:
    lines = TEXTS[draw(st.sampled_from(NAMES))].splitlines(keepends=True)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        i = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        op = draw(st.sampled_from(["duplicate", "delete", "splice", "swap", "indent"]))
        if op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "delete" and len(lines) > 1:
            del lines[i]
        elif op == "splice":
            at = draw(st.integers(min_value=0, max_value=len(lines[i])))
            lines[i] = lines[i][:at] + draw(st.text(max_size=6)) + lines[i][at:]
        elif op == "swap":
            j = draw(st.integers(min_value=0, max_value=len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "indent":
            lines[i] = " " * draw(st.integers(min_value=1, max_value=4)) + lines[i]
    return "".join(lines)


@FUZZ
@given(mutated_examples())
# The internal errors of issue 10, kept: a quantity as a mapping or null (TypeError), an
# impossible date (ValueError), deep nesting (RecursionError).
@example("name: x\nhardware: {host_models: [{name: a, cores: {n: 1}, memory: 1Gi}]}\n")
@example("name: x\nhardware: {host_models: [{name: a, cores: null, memory: 1Gi}]}\n")
@example("name: x\nlifecycle: {start: 2026-02-30}\n")
@example("name: x\ndescription: " + "[" * 2000 + "]" * 2000 + "\n")
def test_mutated_examples_load_or_raise_a_scenario_error(text: str) -> None:
    loads_or_refuses(text)


@FUZZ
@given(garbled_examples())
@example("name: x\x00\n")
@example("name: x\nname: y\n")
def test_garbled_examples_load_or_raise_a_scenario_error(text: str) -> None:
    loads_or_refuses(text)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@settings(FUZZ, max_examples=examples(100))
@given(
    name=st.sampled_from(NAMES),
    at=st.floats(min_value=0, max_value=1),
    noise=st.one_of(
        st.binary(min_size=1, max_size=8),
        st.text(min_size=1, max_size=8).map(lambda t: t.encode("utf-8")),
    ),
)
def test_random_bytes_in_an_example_file(folder: Path, name: str, at: float, noise: bytes) -> None:
    data = TEXTS[name].encode("utf-8")
    cut = int(at * len(data))
    path = folder / "scenario.yaml"
    path.write_bytes(data[:cut] + noise + data[cut:])
    try:
        load_scenario(path)
    except InputError as exc:
        assert str(exc).startswith(f"{path}: "), str(exc)
