"""The strict YAML loader under the scenario: every malformed document is one
ScenarioError naming the file, the line and the field — never RecursionError, ValueError or
TypeError — and the file is parsed once."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from factories import MINIMAL_SCENARIO_YAML
from underlay.errors import ScenarioError
from underlay.model import loading
from underlay.model.loading import (
    MAX_ALIAS_VALUES,
    MAX_DEPTH,
    MAX_SCENARIO_BYTES,
    load_scenario,
    parse_scenario,
)

WriteYaml = Callable[..., Path]

BASE = MINIMAL_SCENARIO_YAML


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """1-based line of the ``nth`` line of ``text`` containing ``needle``."""
    hits = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(hits) >= nth, (needle, text)
    return hits[nth - 1]


def refused(text: str, source: str = "s.yaml") -> str:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, source=source)
    message = str(info.value)
    assert message.startswith(f"{source}: ")
    assert "Traceback" not in message
    return message


# ------------------------------------------------------------------ duplicate keys


def test_duplicate_top_level_key_names_both_lines() -> None:
    text = BASE.replace("name: t\n", "name: t\nname: again\n")
    message = refused(text)
    first, second = line_of(text, "name: t"), line_of(text, "name: again")
    assert f"s.yaml: line {second}: name: duplicate key 'name', first on line {first}" in message


def test_duplicate_nested_key_names_its_field_and_both_lines() -> None:
    text = BASE.replace("replicas: 3\n", "replicas: 3\n        replicas: 4\n")
    message = refused(text)
    first, second = line_of(text, "replicas: 3"), line_of(text, "replicas: 4")
    assert f"line {second}: tenants[0].workloads[0].replicas: duplicate key" in message
    assert f"first on line {first}" in message


def test_duplicate_key_in_a_flow_mapping() -> None:
    text = BASE.replace('{cpu: "1", memory: 1Gi}', '{cpu: "1", memory: 1Gi, cpu: "2"}')
    message = refused(text)
    assert f"line {line_of(text, 'requests:')}: tenants[0].workloads[0].requests.cpu" in message


def test_merge_keys_are_not_duplicates_and_own_keys_win() -> None:
    text = BASE.replace(
        '        requests: {cpu: "1", memory: 1Gi}\n',
        '        requests: &r {cpu: "1", memory: 1Gi}\n'
        "      - name: w2\n        replicas: 1\n"
        '        requests: {<<: *r, cpu: "2"}\n',
    )
    sc = parse_scenario(text)
    w1, w2 = sc.tenants[0].clusters[0].workloads
    assert (w1.requests.cpu_milli, w2.requests.cpu_milli) == (1000, 2000)
    assert w2.requests.memory_mib == w1.requests.memory_mib == 1024


def test_line_of_a_field_after_a_merge_is_the_files_own() -> None:
    text = BASE.replace(
        '        requests: {cpu: "1", memory: 1Gi}\n',
        '        requests: &r {cpu: "1", memory: 1Gi}\n'
        "      - name: w2\n        replicas: 1\n"
        "        requests: {<<: *r, cpu: lots}\n",
    )
    message = refused(text)
    assert f"line {line_of(text, 'cpu: lots')}: tenants[0].workloads[1].requests.cpu" in message


# -------------------------------------------------------------------------- nesting


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 3000, 100_000])
def test_deep_flow_nesting_is_refused_at_its_line(levels: int) -> None:
    text = "name: t\ndescription: " + "[" * levels + "]" * levels + "\n"
    message = refused(text)
    if levels > 1000 and "nesting depth" in message:
        # libyaml stops the scanner's look-ahead at 1,000 flow levels itself
        assert message.startswith("s.yaml: line 2, column ")
    else:
        assert "line 2: description[0][0]" in message
        assert f"nested more than {MAX_DEPTH} levels deep" in message


def test_deep_block_nesting_is_refused() -> None:
    lines = ["name: t", "overrides:"]
    lines += [f"{'  ' * (i + 1)}k{i}:" for i in range(MAX_DEPTH + 5)]
    text = "\n".join(lines) + " 1\n"
    message = refused(text)
    # The root is level 1, the mapping under `overrides:` level 2, the value of k{i} level
    # i + 3: k{MAX_DEPTH - 2} is the key whose value would be level MAX_DEPTH + 1.
    deepest = MAX_DEPTH - 2
    assert f"line {line_of(text, f'k{deepest}:')}: overrides.k0.k1.k2" in message


def test_nesting_at_the_limit_is_read() -> None:
    depth = MAX_DEPTH - 2  # the root mapping and `description:` are two levels
    text = BASE + "description: " + "[" * depth + "]" * depth + "\n"
    message = refused(text)  # read, then refused by the model: not a string
    assert "nested more than" not in message
    assert "description" in message


def test_alias_inside_its_own_anchor_is_refused() -> None:
    text = BASE + "overrides: &loop {costs: *loop}\n"
    message = refused(text)
    assert f"line {line_of(text, 'overrides:')}: overrides" in message
    assert "alias (*name) inside the anchor it refers to" in message


def test_alias_bomb_is_refused_before_it_is_expanded() -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    text = BASE + "overrides:\n" + "".join(f"  {line}\n" for line in levels)
    start = time.perf_counter()
    message = refused(text)
    assert time.perf_counter() - start < 5
    # 10^6 values under a5 already pass the limit; a4 (10^5) does not: a5's line is named.
    assert MAX_ALIAS_VALUES < 10**6 + 10**5
    assert f"line {line_of(text, 'a5: &a5')}: overrides.a5" in message
    assert f"aliases may repeat at most {MAX_ALIAS_VALUES:,} values" in message


def test_aliases_deeper_than_the_limit_are_refused() -> None:
    # Each anchor nests the previous one 8 levels down: 12 of them are 96 levels deep.
    lines = ["d0: &d0 x"]
    lines += [f"d{i}: &d{i} " + "[" * 8 + f"*d{i - 1}" + "]" * 8 for i in range(1, 13)]
    text = BASE + "overrides:\n" + "".join(f"  {line}\n" for line in lines)
    message = refused(text)
    assert f"nested more than {MAX_DEPTH} levels deep through aliases" in message


def test_ordinary_aliases_are_fine() -> None:
    text = BASE.replace(
        "      - name: w\n",
        "      - name: w0\n        replicas: 1\n        requests: &req {cpu: 500m, memory: 1Gi}\n"
        "      - name: w\n",
    ).replace('requests: {cpu: "1", memory: 1Gi}', "requests: *req")
    sc = parse_scenario(text)
    assert [w.requests.cpu_milli for w in sc.tenants[0].clusters[0].workloads] == [500, 500]


# ---------------------------------------------------------------------------- dates


def test_impossible_date_is_a_field_error() -> None:
    text = BASE + "lifecycle: {start: 2026-02-30}\n"
    message = refused(text)
    assert f"line {line_of(text, 'lifecycle:')}: lifecycle.start:" in message
    assert "2026-02-30" in message


def test_a_date_like_text_elsewhere_is_just_text() -> None:
    text = BASE.replace("name: t\n", "name: t\ndescription: 2026-02-30\n")
    sc = parse_scenario(text.replace("name: std", "name: 2026-02-29"))
    assert (sc.description, sc.hardware.host_models[0].name) == ("2026-02-30", "2026-02-29")


def test_a_valid_date_still_reads() -> None:
    sc = parse_scenario(BASE + "lifecycle: {start: 2026-02-28}\n")
    assert sc.lifecycle.start is not None and sc.lifecycle.start.isoformat() == "2026-02-28"


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("!!timestamp 2026-02-30", "cannot read '2026-02-30' as timestamp"),
        ("!!int abc", "cannot read 'abc' as int"),
        ("!!float abc", "cannot read 'abc' as float"),
        ("!!bool maybe", "cannot read 'maybe' as bool"),
        ("!!binary abc", "base64"),
        ("!!python/object:os.system x", "could not determine a constructor"),
        ("1" * 5000, "as int"),
    ],
    ids=["timestamp", "int", "float", "bool", "binary", "python tag", "5000 digits"],
)
def test_a_scalar_its_tag_cannot_read_is_an_error_at_its_line(value: str, needle: str) -> None:
    text = BASE.replace("replicas: 3", f"replicas: {value}")
    message = refused(text)
    assert f"line {line_of(text, 'replicas:')}: tenants[0].workloads[0].replicas" in message
    assert needle in message
    assert len(message) < 400  # never the whole value


# ----------------------------------------------------------------------- characters


@pytest.mark.parametrize(
    ("char", "what"),
    [
        ("\x00", "control character U+0000"),
        ("\x1b", "control character U+001B"),
        ("\x7f", "control character U+007F"),
        ("\ufffe", "character U+FFFE"),
    ],
    ids=["NUL", "ESC", "DEL", "U+FFFE"],
)
def test_unreadable_character_gives_line_column_and_field(char: str, what: str) -> None:
    text = BASE.replace("- name: std", f"- name: s{char}td")
    message = refused(text)
    line = line_of(text, "- name: s")
    column = text.splitlines()[line - 1].index(char) + 1
    assert f"s.yaml: line {line}: hardware.host_models[0].name: {what} at column {column}" in (
        message
    )
    assert "position" not in message


def test_unreadable_character_in_a_malformed_file_still_has_its_line() -> None:
    text = "name: t\nhardware: [\n  \x00\n"
    message = refused(text)
    assert "s.yaml: line 3: control character U+0000 at column 3" in message


def test_tabs_and_unicode_text_are_fine() -> None:
    sc = parse_scenario(
        BASE.replace("name: t\n", 'name: t\ndescription: "caf\u00e9\tb\u00e4r 🚀"\n')
    )
    assert sc.description == "caf\u00e9\tb\u00e4r 🚀"


# ------------------------------------------------------------- one parse, one limit


def test_the_file_is_parsed_once(write_yaml: WriteYaml, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    compose = yaml.composer.Composer.compose_document

    def counting(self: yaml.composer.Composer) -> yaml.Node:
        calls.append(1)
        return compose(self)  # type: ignore[no-any-return]

    monkeypatch.setattr(yaml.composer.Composer, "compose_document", counting)
    load_scenario(write_yaml(BASE))
    assert len(calls) == 1
    calls.clear()
    with pytest.raises(ScenarioError):
        load_scenario(write_yaml(BASE.replace("replicas: 3", "replicas: -3")))
    assert len(calls) == 1


def test_a_file_over_the_size_limit_is_refused_before_parsing(
    write_yaml: WriteYaml, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_yaml("# padding\n" * (MAX_SCENARIO_BYTES // 10 + 1) + BASE, "big.yaml")
    assert path.stat().st_size > MAX_SCENARIO_BYTES

    def no_parsing(*_: object, **__: object) -> None:
        raise AssertionError("parsed a file over the limit")

    monkeypatch.setattr(loading, "parse_scenario", no_parsing)
    start = time.perf_counter()
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert time.perf_counter() - start < 2
    assert str(info.value) == (
        f"{path}: larger than 16 MiB, the most a YAML scenario file may be (is it the right file?)"
    )


def test_a_file_at_the_size_limit_is_read(
    write_yaml: WriteYaml, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A small limit, so the test does not parse 16 MiB of YAML.
    monkeypatch.setattr(loading, "MAX_SCENARIO_BYTES", len(BASE.encode()))
    assert load_scenario(write_yaml(BASE)).name == "t"
    with pytest.raises(ScenarioError, match=f"larger than {len(BASE.encode()):,} bytes, "):
        load_scenario(write_yaml(BASE + "#"))


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(BASE.replace("name: a", "name: caf\xe9").encode("latin-1"))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert f"{path}: line {line_of(BASE, 'name: a')}: not UTF-8 text" in str(info.value)


def test_windows_line_ends_keep_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "crlf.yaml"
    text = BASE.replace("replicas: 3", "replicas: -3")
    path.write_bytes(text.replace("\n", "\r\n").encode())
    with pytest.raises(ScenarioError, match=f"line {line_of(text, 'replicas:')}: "):
        load_scenario(path)


# ------------------------------------------------------------------------ overrides


@pytest.mark.parametrize(
    ("overrides", "key", "path", "hint"),
    [
        ("{costs: {pu: 1.2}}", "pu", "overrides.costs.pu", "pue"),
        ("{cost: {pue: 1.2}}", "cost", "overrides.cost", "costs"),
        ("{hypervisors: {kvm: {cpu_overhead_percnt: 2}}}", "cpu_overhead_percnt",
         "overrides.hypervisors.kvm.cpu_overhead_percnt", "cpu_overhead_percent"),
    ],
    ids=["key in a section", "section", "key of a named entry"],
)  # fmt: skip
def test_misspelt_override_gets_did_you_mean(
    overrides: str, key: str, path: str, hint: str
) -> None:
    text = BASE + f"overrides: {overrides}\n"
    message = refused(text)
    assert f"line {line_of(text, 'overrides:')}: {path}: unknown key {key!r}; " in message
    assert f"did you mean {hint!r}?" in message


def test_misspelt_override_in_block_style_points_at_the_key() -> None:
    text = BASE + "overrides:\n  costs:\n    electricity_usd_per_kwh: 0.2\n    pu: 1.3\n"
    message = refused(text)
    assert f"line {line_of(text, 'pu: 1.3')}: overrides.costs.pu: unknown key 'pu'" in message
