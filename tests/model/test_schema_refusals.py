"""The JSON Schema refuses what the loader refuses, so an editor flags it as it is typed.

Each case below is one small edit of the factories' valid scenario that the loader
refuses; the schema (validated with the ``jsonschema`` package, a dev dependency) must
refuse it too, except the cases listed in ``BEYOND_A_SCHEMA``: references between parts
of the file and comparisons of two values, which JSON Schema cannot express and the
loader checks. The quantity patterns are tested against the parser on generated text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from factories import make_host_model, make_tenant, make_workload, scenario_dict
from underlay.errors import ScenarioError
from underlay.model.loading import parse_scenario
from underlay.model.quantities import QUANTITY_PATTERN, parse_quantity
from underlay.model.scenario import Scenario, scenario_json_schema

REPO = Path(__file__).resolve().parents[2]
SCHEMA = scenario_json_schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def host(**kw: Any) -> dict[str, Any]:
    return scenario_dict(hardware={"host_models": [make_host_model(**kw)]})


def workload(**kw: Any) -> dict[str, Any]:
    return scenario_dict(tenants=[make_tenant(workloads=[make_workload(**kw)])])


def tenant(**kw: Any) -> dict[str, Any]:
    return scenario_dict(tenants=[make_tenant(**kw)])


def substrate(**kw: Any) -> dict[str, Any]:
    return scenario_dict(substrates=[kw])


def usage(**kw: Any) -> dict[str, Any]:
    return workload(usage=kw)


def with_key(key: str, value: Any) -> Callable[[], dict[str, Any]]:
    def make() -> dict[str, Any]:
        data = scenario_dict()
        data[key] = value
        return data

    return make


BAD: dict[str, dict[str, Any]] = {
    # ------------------------------------------------------------ hosts and hardware
    "cores -1": host(cores=-1),
    "cores '-1'": host(cores="-1"),
    "cores 0": host(cores=0),
    "cores '0m'": host(cores="0m"),
    "cores 5000": host(cores=5000),
    "cores true": host(cores=True),
    "memory 5Zi": host(memory="5Zi"),
    "memory without unit": host(memory=4096),
    "memory as a mapping": host(memory={"value": "4Gi"}),
    "memory -1Gi": host(memory="-1Gi"),
    "price NaN": host(price_usd=math.nan),
    "price infinite": host(price_usd=math.inf),
    "price -5": host(price_usd=-5),
    "price as text": host(price_usd="10000"),
    "lifetime 0": host(lifetime_years=0),
    "sockets 0": host(sockets=0),
    "gpu count 0": host(gpus={"model": "L4", "count": 0}),
    "power points: 10 values": host(power={"points": [float(w) for w in range(10)]}),
    "power points: below zero": host(power={"points": [-1.0] + [float(w) for w in range(10)]}),
    "power idle NaN": host(power={"idle_watts": math.nan}),
    "host name with a space": host(name="my host"),
    "host name ending in a newline": host(name="web\n"),
    "topology zones 0": scenario_dict(hardware={"topology": {"zones": 0}}),
    "inventory count -1": scenario_dict(hardware={"inventory": [{"model": "std", "count": -1}]}),
    # ------------------------------------------------------------------ substrates
    "unknown substrate kind": substrate(kind="mainframe"),
    "vm cpu overcommit 0.5": substrate(kind="vm", cpu_overcommit=0.5),
    "vm licence infinite": substrate(kind="vm", licence_per_core_year_usd=math.inf),
    "vm shapes 'big'": substrate(kind="vm", shapes="big"),
    "vm shape of 1.5 GPUs": substrate(
        kind="vm", shapes=[{"name": "s", "vcpus": 4, "memory": "8Gi", "gpus": 1.5}]
    ),
    "vm shape memory 1.5.3": substrate(
        kind="vm", shapes=[{"name": "s", "vcpus": 4, "memory": "1.5.3"}]
    ),
    "vm gpu_mode sr-iov": substrate(kind="vm", gpu_mode="sr-iov"),
    "shared pod CIDR /8": substrate(kind="baremetal-shared", max_pods={"pod_cidr_prefix": 8}),
    "shared cache_partitioned 'yes'": substrate(kind="baremetal-shared", cache_partitioned="yes"),
    "sandboxed control plane 'cloud'": substrate(kind="sandboxed", control_plane="cloud"),
    # ------------------------------------------------------------ tenants, workloads
    "no tenants": scenario_dict(tenants=[]),
    "tenant name with a tab": tenant(name="a\tb"),
    "kubernetes version 2.0": tenant(kubernetes_version="2.0"),
    "support 'rhel'": tenant(support="rhel"),
    "availability 101 %": tenant(sla={"availability_percent": 101}),
    "cadence 0 months": tenant(upgrade_cadence_months=0),
    "cluster control plane 'cloud'": tenant(control_plane="cloud"),
    "replicas -1": workload(replicas=-1),
    "replicas '3'": workload(replicas="3"),
    "replicas 2.5": workload(replicas=2.5),
    "replicas true": workload(replicas=True),
    "misspelt replicas": workload(replica=2),
    "cpu 1.5.3": workload(cpu="1.5.3"),
    "cpu NaN": workload(cpu=math.nan),
    "cpu '-500m'": workload(cpu="-500m"),
    "cpu as a mapping": workload(cpu={"cores": 2}),
    "class 'gpu'": workload(**{"class": "gpu"}),
    "qos 'gold'": workload(qos="gold"),
    "gpu fraction 0": workload(gpu={"count": 1, "fraction": 0}),
    "gpu fraction 1.5": workload(gpu={"count": 1, "fraction": 1.5}),
    "half of two GPUs": workload(gpu={"count": 2, "fraction": 0.5}),
    "disruption budget of neither": workload(disruption_budget={}),
    "disruption budget of both": workload(
        disruption_budget={"max_unavailable": 1, "min_available": 1}
    ),
    "spread_racks 'yes'": workload(spread={"spread_racks": "yes"}),
    "anti-affinity 'zone'": workload(spread={"anti_affinity": "zone"}),
    "usage model 'random'": usage(model="random"),
    "trace usage without a trace": usage(model="trace"),
    "trace usage, empty trace": usage(model="trace", trace=""),
    "usage correlation 2": usage(correlation=2),
    "usage peak hour 24": usage(peak_hour=24),
    "usage burst factor 0.5": usage(burst_factor=0.5),
    "usage noise infinite": usage(noise=math.inf),
    # ------------------------------------------------------------------- settings
    "strategy 'worst-fit'": scenario_dict(placement={"strategy": "worst-fit"}),
    "unknown score plugin": scenario_dict(placement={"weights": {"Nope": 1}}),
    "score weight -1": scenario_dict(placement={"weights": {"MostAllocated": -1}}),
    "arguments of an unknown plugin": scenario_dict(placement={"args": {"Nope": {"x": 1}}}),
    "node reservation 'openshift'": scenario_dict(kubernetes={"node_reservation": "openshift"}),
    "step 0 minutes": scenario_dict(simulation={"step_minutes": 0}),
    "seed -1": scenario_dict(simulation={"seed": -1}),
    "seed 2^64": scenario_dict(simulation={"seed": 2**64}),
    "slowdown 1.5": scenario_dict(simulation={"shared_hardware_slowdown": 1.5}),
    "failure trials 0": scenario_dict(failures={"trials": 0}),
    "lifecycle horizon NaN": scenario_dict(lifecycle={"horizon_years": math.nan}),
    "ops cost -1": scenario_dict(costs={"ops_per_host_month_usd": -1}),
    "weight cost -1": scenario_dict(weights={"cost": -1}),
    "min SLA probability 1.5": scenario_dict(constraints={"min_sla_probability": 1.5}),
    "budget 0": scenario_dict(constraints={"budget_usd_per_month": 0}),
    "GPU training on 'mainframe'": scenario_dict(constraints={"gpu_training_on": ["mainframe"]}),
    "assign 'cluster'": scenario_dict(constraints={"assign": "cluster"}),
    "isolation rule of three": scenario_dict(
        isolation={"rules": [{"between": ["internal", "untrusted", "regulated"]}]}
    ),
    "never_share 'zone'": scenario_dict(
        isolation={"rules": [{"between": ["internal", "untrusted"], "never_share": "zone"}]}
    ),
    "unknown top-level key": with_key("tenant", [])(),
    "retired pinned_cpus": scenario_dict(simulation={"pinned_cpus": True}),
}

# The loader refuses these too, but no JSON Schema can: each names another part of the
# file (or the defaults), or compares two values of it. Keep the list short and explained.
BEYOND_A_SCHEMA: dict[str, dict[str, Any]] = {
    # references: a name must be unique, or must name something defined elsewhere
    "two tenants of one name": scenario_dict(tenants=[make_tenant("a"), make_tenant("a")]),
    "inventory of an unknown model": scenario_dict(
        hardware={"inventory": [{"model": "nope", "count": 1}]}
    ),
    "unknown isolation class": tenant(isolation="secret"),
    "GPU model no host has": workload(gpu={"count": 1, "models": ["H100"]}),
    "allowed substrate of an unknown tenant": scenario_dict(constraints={"allowed": {"x": []}}),
    # the defaults: hypervisors, runtimes and overrides are checked against them
    "unknown hypervisor": substrate(kind="vm", hypervisor="xen"),
    "bad override": scenario_dict(overrides={"costs": {"pue": "high"}}),
    # comparisons of two values (JSON Schema compares a value with constants only)
    "limits below requests": workload(cpu="2", limits={"cpu": "1"}),
    "peak watts below idle": host(power={"idle_watts": 500, "peak_watts": 400}),
    "power points falling": host(power={"points": [float(w) for w in range(10, -1, -1)]}),
    "250 pods in a /24": tenant(max_pods={"per_node": 250}),
    # a plugin's own arguments: the registry's plugin checks them
    "headroom 95 %": scenario_dict(
        placement={"args": {"NodeResourcesFit": {"headroom_percent": 95}}}
    ),
    "every weight zero": scenario_dict(
        weights={"performance": 0, "versions": 0, "isolation": 0, "sla": 0, "cost": 0}
    ),
    # the size of a quantity written as text (a pattern checks its form, not its size)
    "host memory 512Mi": host(memory="512Mi"),
    "cpu '1e9999999'": workload(cpu="1e9999999"),
}


def _loader_refuses(data: dict[str, Any]) -> str:
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(yaml.safe_dump(data, sort_keys=False), source="bad.yaml")
    return str(exc.value)


def _schema_errors(data: dict[str, Any]) -> list[str]:
    return [e.message for e in VALIDATOR.iter_errors(data)]


def test_there_are_enough_cases() -> None:
    assert len(BAD) >= 40
    assert not set(BAD) & set(BEYOND_A_SCHEMA)


def test_the_base_scenario_is_valid_to_both() -> None:
    parse_scenario(yaml.safe_dump(scenario_dict(), sort_keys=False))
    assert _schema_errors(scenario_dict()) == []


@pytest.mark.parametrize("name", list(BAD))
def test_the_schema_refuses_what_the_loader_refuses(name: str) -> None:
    data = BAD[name]
    _loader_refuses(data)
    assert _schema_errors(data), f"the schema accepts {name!r}, which the loader refuses"


@pytest.mark.parametrize("name", list(BEYOND_A_SCHEMA))
def test_only_the_listed_cases_pass_the_schema(name: str) -> None:
    # Each listed case is refused by the loader and accepted by the schema; when the
    # schema learns to refuse one, move it to BAD.
    data = BEYOND_A_SCHEMA[name]
    _loader_refuses(data)
    assert _schema_errors(data) == []


@pytest.mark.parametrize(
    "example", [pytest.param(p, id=p.stem) for p in sorted((REPO / "examples").glob("*.yaml"))]
)
def test_every_bundled_example_validates(example: Path) -> None:
    assert _schema_errors(yaml.safe_load(example.read_text(encoding="utf-8"))) == []


def test_the_schema_is_draft_2020_12_with_an_id() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["$id"].startswith("urn:underlay:")


def test_enums_list_exactly_what_the_model_accepts() -> None:
    # The schema's enums are read from the model's Literal types; check a few by hand.
    defs = SCHEMA["$defs"]
    assert defs["PlacementSettings"]["properties"]["strategy"]["enum"] == [
        "first-fit-decreasing",
        "best-fit",
        "least-allocated",
        "dominant-resource",
        "gpu-fragmentation",
    ]
    kinds = SCHEMA["properties"]["substrates"]["items"]["discriminator"]["mapping"]
    assert sorted(kinds) == ["baremetal-dedicated", "baremetal-shared", "hybrid", "sandboxed", "vm"]
    assert set(defs["Vm"]["properties"]["gpu_mode"]["enum"]) == {"passthrough", "vgpu"}


# ------------------------------------------------------ quantity pattern vs parser

_SIZE = SCHEMA["$defs"]["Resources"]["properties"]["memory"]
_CPU = SCHEMA["$defs"]["Resources"]["properties"]["cpu"]
_HOST_CPU = SCHEMA["$defs"]["HostModel"]["properties"]["cores"]

# Text near the grammar: digits (ASCII and not), signs, dots, exponents, every suffix and
# some that are not, blanks Python's \s knows and the grammar does not.
_PIECES = st.sampled_from(
    ["0", "1", "7", "00", "12", ".", "+", "-", "e", "E", "e3", "E-2", "m", "k", "K", "M", "G",
     "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "i", "B", " ", "\t", "\n",
     "\u00a0", "\u0663", "x", "nan", "inf"]
)  # fmt: skip
_NEAR_QUANTITIES = st.lists(_PIECES, max_size=6).map("".join)


def _parses(text: str) -> bool:
    try:
        parse_quantity(text)
    except ValueError:
        return False
    return True


def _beyond_any_size(text: str) -> bool:
    """A quantity in the grammar too large (or small) for the parser, or above 1000: sizes
    a pattern cannot see (the schema leaves them to the loader, see BEYOND_A_SCHEMA)."""
    try:
        return abs(parse_quantity(text)) > 1000
    except ValueError as exc:
        return "out of range" in str(exc)


def _loads_as(field: str, text: str) -> bool:
    """Whether ``text`` loads as a workload's ``requests.<field>``."""
    try:
        Scenario.model_validate(workload(**{field: text}))
    except ValueError:
        return False
    return True


def _by_schema(schema: dict[str, Any], text: str) -> bool:
    validator = jsonschema.Draft202012Validator({**schema, "$defs": SCHEMA["$defs"]})
    return not list(validator.iter_errors(text))


@given(_NEAR_QUANTITIES)
@example("1.5.3")
@example("5Zi")
@example("\u0663")  # Python's \d would take it: the parser does not
@example("4\n")  # Python's $ would match before the newline
@example("-0")
@example(" +1.Ki ")
@example("1e1234567")  # in the grammar, beyond the parser's range
def test_the_quantity_pattern_is_the_parsers_grammar(text: str) -> None:
    in_grammar = re.search(QUANTITY_PATTERN, text) is not None
    assert in_grammar == (_parses(text) or _beyond_any_size(text))


@given(_NEAR_QUANTITIES)
@example("-0")
@example("0.0001")
@example("1e-3")
def test_the_schema_and_the_loader_agree_on_cpu_and_memory_text(text: str) -> None:
    # Sizes: the grammar without a minus sign. Memory and CPU also have an upper bound
    # the pattern cannot see: only texts within it are compared.
    if _beyond_any_size(text):
        return
    assert _by_schema(_CPU, text) == _loads_as("cpu", text), text
    assert _by_schema(_SIZE, text) == _loads_as("memory", text), text


@given(_NEAR_QUANTITIES)
@example("0")
@example("+0.0m")
@example("0e5")
@example(".0")
@example("0.0001m")
def test_the_host_cores_pattern_refuses_zero_however_written(text: str) -> None:
    if _beyond_any_size(text):
        return
    loads = True
    try:
        Scenario.model_validate(host(cores=text))
    except ValueError:
        loads = False
    assert _by_schema(_HOST_CPU, text) == loads, text
