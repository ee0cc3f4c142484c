"""The isolation policy of a scenario: classes, inheritance, rules — and bad policies read
from a file, each one clear error naming the file, line and field path."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from factories import make_scenario, make_tenant
from underlay.errors import ScenarioError
from underlay.model.loading import load_scenario, parse_scenario
from underlay.model.scenario import IsolationPolicy, IsolationRule

WriteYaml = Callable[..., Path]

# --------------------------------------------------------------------- the model


def test_defaults_three_classes_two_rules() -> None:
    policy = IsolationPolicy()
    assert policy.class_names == ["regulated", "internal", "untrusted"]
    assert policy.rules == [
        IsolationRule(between=("regulated", "untrusted"), never_share="kernel"),
        IsolationRule(between=("untrusted", "untrusted"), never_share="kernel"),
    ]
    assert make_scenario().tenants[0].isolation == "internal"


def test_own_classes_are_added_and_rules_replace_the_defaults() -> None:
    policy = IsolationPolicy.model_validate(
        {
            "classes": {"pci": {"inherits": ["regulated"]}, "lab": {}},
            "rules": [{"between": ["pci", "lab"], "never_share": "host"}],
        }
    )
    assert policy.class_names == ["regulated", "internal", "untrusted", "pci", "lab"]
    assert policy.rules == [IsolationRule(between=("pci", "lab"), never_share="host")]
    assert IsolationPolicy.model_validate({"rules": []}).rules == []


def test_redefining_a_default_class_does_not_list_it_twice() -> None:
    policy = IsolationPolicy.model_validate({"classes": {"internal": {"inherits": ["regulated"]}}})
    assert policy.class_names == ["regulated", "internal", "untrusted"]
    assert policy.lineage("internal") == {"internal", "regulated"}


def test_lineage_follows_every_parent_transitively() -> None:
    policy = IsolationPolicy.model_validate(
        {
            "classes": {
                "pci": {"inherits": ["regulated"]},
                "card-data": {"inherits": ["pci", "internal"]},
                "vendor": {"inherits": ["untrusted"]},
            }
        }
    )
    assert policy.lineage("card-data") == {"card-data", "pci", "regulated", "internal"}
    assert policy.lineage("vendor") == {"vendor", "untrusted"}
    assert policy.lineage("regulated") == {"regulated"}
    # A diamond is fine: d → b, c → a.
    diamond = IsolationPolicy.model_validate(
        {
            "classes": {
                "a": {},
                "b": {"inherits": ["a"]},
                "c": {"inherits": ["a"]},
                "d": {"inherits": ["b", "c"]},
            }
        }
    )
    assert diamond.lineage("d") == {"a", "b", "c", "d"}


def test_tenant_of_an_own_class() -> None:
    sc = make_scenario(
        isolation={"classes": {"pci": {"inherits": ["regulated"]}}},
        tenants=[make_tenant("bank", isolation="pci")],
    )
    assert sc.tenants[0].isolation == "pci"
    assert "regulated" in sc.isolation.lineage("pci")


# ------------------------------------------------------------ bad policies in files

# Line numbers below refer to this text (1-based).
BASE = textwrap.dedent(
    """\
    name: t
    hardware:
      host_models:
        - {name: std, cores: 64, memory: 256Gi}
    isolation:
      classes:
        pci:
          inherits: [regulated]
        card:
          inherits: [pci]
      rules:
        - between: [pci, untrusted]
          never_share: host
    tenants:
      - name: bank
        isolation: card
        workloads:
          - {name: w, replicas: 1, requests: {cpu: "1", memory: 1Gi}}
    """
)
#  5 isolation:
#  6   classes:
#  7     pci:
#  8       inherits: [regulated]
#  9     card:
# 10       inherits: [pci]
# 11   rules:
# 12     - between: [pci, untrusted]
# 13       never_share: host
# 14 tenants:
# 15   - name: bank
# 16     isolation: card


def test_base_policy_loads(write_yaml: WriteYaml) -> None:
    sc = load_scenario(write_yaml(BASE))
    assert sc.isolation.lineage("card") == {"card", "pci", "regulated"}
    assert sc.isolation.rules[0].never_share == "host"


# (case id, (old, new) edit of BASE, line, path, other substrings of the one message)
CASES: list[tuple[str, tuple[str, str], int, str, list[str]]] = [
    (
        "cycle a -> b -> a",
        ("inherits: [regulated]", "inherits: [card]"),
        8,
        "isolation.classes.pci.inherits",
        ["inheritance goes round in a circle", "pci -> card -> pci"],
    ),
    (
        "cycle a -> a",
        ("inherits: [pci]", "inherits: [card]"),
        10,
        "isolation.classes.card.inherits",
        ["inheritance goes round in a circle", "card -> card"],
    ),
    (
        "rule names an unknown class, did you mean",
        ("between: [pci, untrusted]", "between: [pci, untrustd]"),
        12,
        "isolation.rules[0].between[1]",
        ["no isolation class is called 'untrustd'", "did you mean 'untrusted'?", "known: "],
    ),
    (
        "rule names an unknown class, nothing close",
        ("between: [pci, untrusted]", "between: [zzz, untrusted]"),
        12,
        "isolation.rules[0].between[0]",
        [
            "no isolation class is called 'zzz'",
            "(known: regulated, internal, untrusted, pci, card)",
        ],
    ),
    (
        "tenant of an unknown class, did you mean",
        ("isolation: card", "isolation: crad"),
        16,
        "tenants[0].isolation",
        ["no isolation class is called 'crad'", "did you mean 'card'?", "isolation.classes"],
    ),
    (
        "tenant of a default class misspelt",
        ("isolation: card", "isolation: regulatd"),
        16,
        "tenants[0].isolation",
        ["'regulatd'", "did you mean 'regulated'?"],
    ),
    (
        "inherits an unknown class",
        ("inherits: [regulated]", "inherits: [regluated]"),
        8,
        "isolation.classes.pci.inherits[0]",
        ["no isolation class is called 'regluated'", "did you mean 'regulated'?"],
    ),
    (
        "unknown sharing level",
        ("never_share: host", "never_share: cluster"),
        13,
        "isolation.rules[0].never_share",
        ["'kernel', 'host' or 'rack'", "cluster"],
    ),
]


@pytest.mark.parametrize(
    ("edit", "line", "path", "needles"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_policy_gives_one_clear_error(
    write_yaml: WriteYaml, edit: tuple[str, str], line: int, path: str, needles: list[str]
) -> None:
    text = BASE.replace(*edit)
    assert text != BASE
    file = write_yaml(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    message = str(info.value)
    assert message.startswith(f"{file}: line {line}: {path}: "), message
    assert "\n" not in message  # one problem, one line
    for needle in needles:
        assert needle in message
    assert "Traceback" not in message and "pydantic" not in message.lower()
    # The same text without a file names its source the same way.
    with pytest.raises(ScenarioError, match=r"^inline\.yaml: line \d+: "):
        parse_scenario(text, source="inline.yaml")


def test_cycle_entered_from_outside_points_at_a_class_in_the_circle() -> None:
    # card → pci → regulated is fine; a → b → a is the circle, and `lab`, listed first,
    # merely leads into it.
    text = BASE.replace(
        "  classes:\n",
        "  classes:\n    lab: {inherits: [a]}\n    a: {inherits: [b]}\n    b: {inherits: [a]}\n",
    )
    assert text != BASE
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, source="s.yaml")
    message = str(info.value)
    assert "a -> b -> a" in message
    assert "isolation.classes.a.inherits" in message


def test_a_rule_names_exactly_two_classes() -> None:
    text = BASE.replace("between: [pci, untrusted]", "between: [pci, untrusted, internal]")
    assert text != BASE
    with pytest.raises(
        ScenarioError,
        match=r"line 12: isolation\.rules\[0\]\.between: .*exactly two classes, got 3",
    ):
        parse_scenario(text, source="s.yaml")
