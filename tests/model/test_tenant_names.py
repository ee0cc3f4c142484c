"""Tenant names are free text (issue 5); the shorthand's cluster is a slug of the name.

A tenant is a team or a customer ("ACME Corp (EU)", "Team <Payments>"): 1 to 100
characters, not only spaces, no control characters, unique. ``workloads:`` directly under
a tenant stand for one cluster whose name is ``cluster_name_for(tenant name)``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from factories import make_tenant, make_workload, scenario_dict, scenario_yaml
from underlay.errors import ScenarioError
from underlay.model.loading import parse_scenario
from underlay.model.scenario import Scenario, cluster_name_for, scenario_json_schema

# The pattern of every other name in a scenario (clusters, workloads, host models, ...).
NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
FREE_TEXT = [
    "<script>alert(1)</script>",
    "[red]boom[/red]",
    "ACME | Corp",
    'Team "Payments"',
    "x]",
    "ACME Corp (EU)",
    "Équipe Zürich",
    "  padded  ",  # kept as written: only all-space names are refused
    "a" * 100,
]


def _error(**overrides: Any) -> str:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(scenario_yaml(**overrides), source="s.yaml")
    return str(info.value)


# ------------------------------------------------------------------ what is accepted


@pytest.mark.parametrize("name", FREE_TEXT)
def test_free_text_names_load_as_written(name: str) -> None:
    sc = parse_scenario(scenario_yaml(tenants=[make_tenant("first"), make_tenant(name)]))
    assert [t.name for t in sc.tenants] == ["first", name]


def test_explicit_clusters_keep_their_names() -> None:
    tenant = make_tenant("Team <Payments>", clusters=[{"name": "pay-eu", "workloads": []}])
    sc = parse_scenario(scenario_yaml(tenants=[tenant]))
    assert [c.name for c in sc.tenants[0].clusters] == ["pay-eu"]


def test_constraints_allowed_is_keyed_by_the_free_text_name() -> None:
    sc = parse_scenario(
        scenario_yaml(
            tenants=[make_tenant("ACME | Corp")], constraints={"allowed": {"ACME | Corp": ["vm"]}}
        )
    )
    assert sc.constraints.allowed == {"ACME | Corp": ["vm"]}


# ------------------------------------------------------------------ what is refused


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("a\tb", r"'\t' at position 2"),
        ("line\n", r"'\n' at position 5"),
        ("nul\x00", r"'\x00' at position 4"),
        ("\x1b[31mred", r"'\x1b' at position 1"),
        ("del\x7f", r"'\x7f' at position 4"),
        ("c1\x85", r"'\x85' at position 3"),
        ("evil\u202egpj.exe", r"'\u202e' at position 5"),
    ],
)
def test_control_characters_are_refused_naming_the_field(name: str, shown: str) -> None:
    message = _error(tenants=[make_tenant("ok"), make_tenant(name)])
    assert "tenants[1].name: " in message
    assert "control character" in message and shown in message
    assert "without tabs, other control characters or bidirectional overrides" in message
    assert "Traceback" not in message and "\n" not in message.strip()


@pytest.mark.parametrize("name", [" ", "    ", "\u00a0\u3000"])
def test_names_of_only_spaces_are_refused_naming_the_field(name: str) -> None:
    message = _error(tenants=[make_tenant("ok"), make_tenant(name)])
    assert "tenants[1].name: " in message
    assert "is only spaces; give the tenant a name" in message


@pytest.mark.parametrize(
    ("name", "problem"),
    [("", "at least 1 character"), ("x" * 101, "at most 100 characters")],
)
def test_empty_and_overlong_names_are_refused_naming_the_field(name: str, problem: str) -> None:
    message = _error(tenants=[make_tenant(name)])
    assert "tenants[0].name: " in message and problem in message


def test_a_name_that_is_not_text_is_refused() -> None:
    message = _error(tenants=[make_tenant(7)])  # type: ignore[arg-type]
    assert "tenants[0].name: " in message and "valid string" in message


def test_duplicate_free_text_names_are_refused() -> None:
    message = _error(tenants=[make_tenant("ACME | Corp"), make_tenant("ACME | Corp")])
    assert "tenants[1].name: tenant name 'ACME | Corp' appears twice" in message


def test_names_differing_only_in_case_or_spaces_are_different_tenants() -> None:
    sc = parse_scenario(scenario_yaml(tenants=[make_tenant("ACME"), make_tenant("ACME ")]))
    assert [t.name for t in sc.tenants] == ["ACME", "ACME "]


# --------------------------------------------------------- the shorthand's cluster name


@pytest.mark.parametrize(
    ("tenant", "cluster"),
    [
        ("saas-web", "saas-web"),  # a valid cluster name is kept
        ("a.b_c-d", "a.b_c-d"),
        ("<script>alert(1)</script>", "script-alert-1-script"),  # "<" → "-", trimmed
        ("[red]boom[/red]", "red-boom-red"),  # "[" and "]/" runs → one "-" each
        ("ACME | Corp", "ACME-Corp"),  # " | " is one run → one "-"
        ('Team "Payments"', "Team-Payments"),  # ' "' → "-"; the closing '"' trimmed
        ("x]", "x"),
        ("ACME Corp (EU)", "ACME-Corp-EU"),
        ("Équipe Zürich", "quipe-Z-rich"),  # outside A-Z a-z: replaced, not transliterated
        ("_internal.", "internal"),  # "-", "_" and "." are trimmed at both ends
        ("日本", "cluster"),  # nothing left
        ("...", "cluster"),
        ("a" * 70, "a" * 63),  # cut to 63
        ("a" * 62 + ".b", "a" * 62),  # the cut leaves "a"*62 + "." → trimmed again
    ],
)
def test_shorthand_cluster_is_a_slug_of_the_tenant_name(tenant: str, cluster: str) -> None:
    assert cluster_name_for(tenant) == cluster
    sc = parse_scenario(scenario_yaml(tenants=[make_tenant(tenant)]))
    assert sc.tenants[0].name == tenant
    assert [c.name for c in sc.tenants[0].clusters] == [cluster]


def test_two_tenants_whose_slugs_collide_both_load() -> None:
    # Cluster names are unique per tenant only; "ACME | Corp" and "ACME, Corp" are both
    # "ACME-Corp" clusters of different tenants, and reports label them tenant/cluster.
    sc = parse_scenario(
        scenario_yaml(tenants=[make_tenant("ACME | Corp"), make_tenant("ACME, Corp")])
    )
    assert [c.name for t in sc.tenants for c in t.clusters] == ["ACME-Corp", "ACME-Corp"]


def test_an_error_in_a_shorthand_workload_points_at_the_tenant() -> None:
    bad = make_tenant("Team <Payments>", workloads=[make_workload(replicas=-1)])
    message = _error(tenants=[bad])
    assert "tenants[0].workloads[0].replicas: " in message


def test_a_bad_name_in_the_shorthand_is_reported_once() -> None:
    message = _error(tenants=[make_tenant("a\tb")])
    assert message.count("tenants[0].name") == 1 and "clusters" not in message


@given(st.text(max_size=120))
def test_the_slug_is_always_a_valid_cluster_name(tenant: str) -> None:
    slug = cluster_name_for(tenant)
    assert NAME.match(slug) and len(slug) <= 63
    assert cluster_name_for(tenant) == slug  # deterministic
    assert cluster_name_for(slug) == slug  # a slug is its own slug


@given(st.from_regex(NAME, fullmatch=True).filter(lambda s: len(s) <= 63))
def test_a_valid_cluster_name_is_its_own_slug(name: str) -> None:
    assert cluster_name_for(name) == name


# ------------------------------------------------------------------- the JSON schema


def test_schema_documents_free_text_names_and_the_slug() -> None:
    schema = scenario_json_schema()
    tenant = schema["$defs"]["Tenant"]
    name = tenant["properties"]["name"]
    assert name["minLength"] == 1 and name["maxLength"] == 100
    assert "free text" in name["description"] and "control characters" in name["description"]
    shorthand = tenant["properties"]["workloads"]["description"]
    assert "slug" in shorthand and "'Team <Payments>' -> 'Team-Payments'" in shorthand


_PRINTABLE = st.text(st.characters(exclude_categories=("Cs",)), max_size=110)


@given(_PRINTABLE)
def test_schema_pattern_agrees_with_the_loader(name: str) -> None:
    spec = scenario_json_schema()["$defs"]["Tenant"]["properties"]["name"]
    by_schema = (
        spec["minLength"] <= len(name) <= spec["maxLength"]
        and re.search(spec["pattern"], name) is not None
    )
    try:
        Scenario.model_validate(scenario_dict(tenants=[make_tenant(name)]))
        loaded = True
    except ValueError:
        loaded = False
    assert by_schema == loaded, repr(name)


def test_schema_accepts_the_free_text_names() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(scenario_json_schema())
    document = scenario_dict(tenants=[make_tenant(n) for n in FREE_TEXT])
    assert [e.message for e in validator.iter_errors(document)] == []
    bad = scenario_dict(tenants=[make_tenant("a\tb")])
    assert list(validator.iter_errors(bad))
