"""Workload labels and hybrid-part label selectors: Kubernetes' label syntax, one error
naming the file's line and the key, and a JSON Schema that agrees with the loader.

The rules (kubernetes.io, "Labels and Selectors", "Syntax and character set"): key =
[prefix "/"] name; prefix a DNS subdomain of at most 253 characters; name and value at
most 63 characters of [A-Za-z0-9-_.], beginning and ending alphanumeric; value may be empty.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st
from typer.testing import CliRunner

from factories import make_tenant, make_workload, scenario_dict
from underlay.cli import app
from underlay.errors import ScenarioError
from underlay.model.labels import MAX_LABELS, label_problem, selects
from underlay.model.loading import parse_scenario
from underlay.model.scenario import scenario_json_schema

SCHEMA = scenario_json_schema()
LABELS_SCHEMA = SCHEMA["$defs"]["Workload"]["properties"]["labels"]


def _with_labels(labels: Any) -> str:
    """A scenario whose one workload carries ``labels``, as YAML (labels on line 12)."""
    data = scenario_dict(tenants=[make_tenant(workloads=[make_workload(labels=labels)])])
    return yaml.safe_dump(data, sort_keys=False)


# A 253-character DNS subdomain: three 63-character pieces and one of 61, joined by
# three dots: 3 × 63 + 61 + 3 = 253, the longest prefix.
PREFIX_253 = "x" * 63 + "." + "y" * 63 + "." + "z" * 63 + "." + "w" * 61
GOOD = [
    {"app": "web"},
    {"app.kubernetes.io/name": "web", "tier": ""},  # a prefix; an empty value
    {"a" * 63: "b" * 63},  # the longest name and value
    {PREFIX_253 + "/n": "v"},  # the longest prefix
    {"Team_A.b-c": "Gold_1.x-y"},  # upper case, '_' and '.' inside a name and a value
]


@pytest.mark.parametrize("labels", GOOD, ids=range(len(GOOD)))
def test_good_labels_load(labels: dict[str, str]) -> None:
    assert len(PREFIX_253) == 253
    scenario = parse_scenario(_with_labels(labels))
    assert scenario.tenants[0].clusters[0].workloads[0].labels == labels
    assert jsonschema.Draft202012Validator(LABELS_SCHEMA).is_valid(labels)


def test_no_labels_is_an_empty_mapping() -> None:
    scenario = parse_scenario(yaml.safe_dump(scenario_dict(), sort_keys=False))
    assert scenario.tenants[0].clusters[0].workloads[0].labels == {}


BAD = [
    ({"a" * 64: "v"}, "the name is 64 characters, at most 63"),
    ({"app": "v" * 64}, "is 64 characters, at most 63"),
    ({"x" * 254 + "/n": "v"}, "the prefix is 254 characters, at most 253"),
    ({"Example.com/n": "v"}, "the prefix must be a DNS subdomain"),
    ({"/n": "v"}, "has an empty prefix before '/'"),
    ({"example.com/": "v"}, "has no name"),
    ({"-app": "v"}, "the name must be letters, digits"),
    ({"app": "web!"}, "label value 'web!' must be empty or letters"),
    ({"app": "web-"}, "must be empty or letters"),
    ({"my app": "v"}, "the name must be letters"),
    ({"gpu": True}, "label value reads as the boolean true (yes/no/on/off/true/false): quote it"),
    ({"tier": 1}, "label value 1 is a number: quote it ('1')"),
    ({"tier": None}, "label value is null: write '' for an empty one"),
    ({"a/b/c": "v"}, "the prefix must be a DNS subdomain"),  # 'a/b' is no subdomain
]


@pytest.mark.parametrize(("labels", "fragment"), BAD, ids=[f for _, f in BAD])
def test_bad_labels_get_one_error_naming_the_line_and_key(
    labels: dict[Any, Any], fragment: str
) -> None:
    text = _with_labels(labels)
    key = next(iter(labels))
    # the line of the bad key in the file as written (1-based)
    line = 1 + next(i for i, t in enumerate(text.splitlines()) if t.strip().startswith("labels:"))
    line += 1  # the key is on the line after `labels:`
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(text, source="bad.yaml")
    message = str(exc.value)
    assert message.count("\n") == 0, message  # one problem, one line
    assert fragment in message, message
    assert message.startswith(f"bad.yaml: line {line}: tenants[0].workloads[0].labels."), message
    assert str(key)[:20] in message
    assert not jsonschema.Draft202012Validator(LABELS_SCHEMA).is_valid(labels)


def test_a_key_yaml_reads_as_a_boolean_is_named_at_the_mapping() -> None:
    # `on: web`: YAML 1.1 reads the key as true; one error, on the line of `labels:`
    text = _with_labels({True: "web"})
    line = 1 + next(i for i, t in enumerate(text.splitlines()) if t.strip() == "labels:")
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(text.replace("true: web", "on: web"), source="bad.yaml")
    assert str(exc.value) == (
        f"bad.yaml: line {line}: tenants[0].workloads[0].labels: a label key reads as the "
        "boolean true (yes/no/on/off/true/false): quote it"
    )


def test_too_many_labels() -> None:
    labels = {f"k{i}": "v" for i in range(MAX_LABELS + 1)}
    with pytest.raises(ScenarioError, match=f"at most {MAX_LABELS} items"):
        parse_scenario(_with_labels(labels), source="bad.yaml")
    assert not jsonschema.Draft202012Validator(LABELS_SCHEMA).is_valid(labels)


def test_underlay_schema_shows_labels_on_workloads_and_parts() -> None:
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0
    printed = json.loads(result.stdout)
    assert printed == SCHEMA
    said = {"Workload": "Kubernetes labels of its pods", "HybridPart": "whose labels hold all"}
    for model, words in said.items():
        field = SCHEMA["$defs"][model]["properties"]["labels"]
        assert field["type"] == "object"
        assert words in field["description"]
        assert field["additionalProperties"]["maxLength"] == 63
        assert "labels" not in SCHEMA["$defs"][model].get("required", [])


_TEXT = st.text(alphabet="aZ09-_./!é ", max_size=70)


@given(_TEXT, _TEXT)
@example("a" * 63, "")
@example("a" * 64, "")
@example("a.b/" + "c" * 63, "d")
@example("A.b/c", "d")
@example("a/b/c", "d")
@example("a..b/c", "d")
@example("a/c", "é")
def test_the_schema_and_the_loader_agree(key: str, value: str) -> None:
    schema_ok = jsonschema.Draft202012Validator(LABELS_SCHEMA).is_valid({key: value})
    assert schema_ok == (label_problem(key, value) is None)


def test_selects_needs_every_pair() -> None:
    labels = {"app": "web", "tier": "front"}
    assert selects({"app": "web"}, labels)
    assert selects({"app": "web", "tier": "front"}, labels)
    assert not selects({"app": "web", "tier": "back"}, labels)  # one pair differs
    assert not selects({"zone": "a"}, labels)  # a key it does not carry
    assert not selects({}, labels)  # an empty selector selects nothing
