"""Every number of a scenario file has a range, and NaN, infinities, text and booleans
where a number belongs are refused with the file, the line and the field.

``FULL`` sets every numeric, quantity and boolean field of every section once (a test
checks that it does, so a new field cannot slip past); the other tests break one leaf of
it at a time and load the result through the loader, as ``underlay compare`` does.
"""

from __future__ import annotations

import copy
import math
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel
from typer.testing import CliRunner

from underlay.cli import app
from underlay.errors import ScenarioError
from underlay.model.loading import parse_scenario
from underlay.model.scenario import Scenario

Path_ = tuple[str | int, ...]

_WORKLOAD = {
    "name": "w",
    "replicas": 2,
    "priority": 10,
    "requests": {"cpu": "1", "memory": "1Gi"},
    "limits": {"cpu": "2", "memory": "2Gi"},
    "spread": {"spread_racks": True},
    "usage": {
        "model": "diurnal",
        "cpu": 0.5,
        "memory": 0.5,
        "amplitude": 0.2,
        "peak_hour": 14,
        "noise": 0.1,
        "correlation": 0.5,
        "burst_probability": 0.01,
        "burst_factor": 2,
        "burst_steps": 3,
        "gpu": 1,
    },
    "disruption_budget": {"max_unavailable": 1},
}
FULL: dict[str, Any] = {
    "name": "everything",
    "hardware": {
        "host_models": [
            {
                "name": "std",
                "cores": 64,
                "memory": "256Gi",
                "sockets": 2,
                "threads_per_core": 2,
                "price_usd": 10_000,
                "lifetime_years": 5,
                "power": {"idle_watts": 150, "peak_watts": 450},
            },
            {
                "name": "gpu",
                "cores": "96",
                "memory": "768Gi",
                "gpus": {"model": "L4", "count": 8, "memory": "24Gi"},
                "power": {"points": [100, 110, 120, 130, 140, 150, 160, 170, 180, 190, 200]},
            },
        ],
        "inventory": [{"model": "std", "count": 4}, {"model": "gpu", "count": 2}],
        "topology": {"racks": 2, "hosts_per_rack": 40, "zones": 1},
    },
    "substrates": [
        {"kind": "baremetal-dedicated"},
        {
            "kind": "baremetal-shared",
            "max_pods": {"per_node": 110, "per_core": 4, "pod_cidr_prefix": 24},
            "upgrade_cadence_months": 6,
            "cache_partitioned": True,
        },
        {
            "kind": "vm",
            "shapes": [{"name": "s", "vcpus": 8, "memory": "32Gi", "gpus": 1}],
            "cpu_overcommit": 1.5,
            "memory_overcommit": 1.2,
            "licence_per_core_year_usd": 100,
            "cache_partitioned": False,
        },
        {"kind": "sandboxed", "upgrade_cadence_months": 6, "cache_partitioned": True},
    ],
    "tenants": [
        {
            "name": "t",
            "sla": {"availability_percent": 99.9, "cpu_satisfaction_percent": 99},
            "upgrade_cadence_months": 12,
            "must_stay_supported": False,
            "clusters": [
                {
                    "name": "c",
                    "system_pods": [{"name": "cni", "cpu": "100m", "memory": "128Mi"}],
                    "max_pods": {"per_node": 110, "per_core": 10, "pod_cidr_prefix": 24},
                    "workloads": [
                        {
                            **copy.deepcopy(_WORKLOAD),
                            "gpu": {"count": 1, "fraction": 0.5, "memory": "8Gi"},
                        },
                        {
                            **copy.deepcopy(_WORKLOAD),
                            "name": "w2",
                            "disruption_budget": {"min_available": 1},
                        },
                    ],
                }
            ],
        }
    ],
    "placement": {
        "strategy": "best-fit",
        "weights": {"MostAllocated": 2},
        "args": {"NodeResourcesFit": {"headroom_percent": 0}},
    },
    "simulation": {
        "horizon_hours": 2,
        "step_minutes": 5,
        "seed": 1,
        "shared_hardware_slowdown": 0.1,
    },
    "lifecycle": {"horizon_years": 2, "nodes_in_parallel": 1, "spare_hosts_per_cluster": 0},
    "failures": {"trials": 10, "years": 1, "seed": 2},
    "costs": {"ops_per_host_month_usd": 10, "ops_per_cluster_month_usd": 100},
    "weights": {"performance": 1, "versions": 1, "isolation": 1, "sla": 1, "cost": 2},
    "constraints": {
        "isolation_rules": True,
        "budget_usd_per_month": 1e6,
        "min_sla_probability": 0.9,
        "min_cpu_sla_attainment_percent": 90,
        "own_version": False,
    },
}

# Keys holding Kubernetes quantities (``usage.cpu`` and ``usage.memory`` are fractions).
_QUANTITY_KEYS = {"cores", "cpu", "memory"}


def _leaves(node: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _leaves(value, (*path, i))
    else:
        yield path, node


def _is_quantity(path: Path_) -> bool:
    return path[-1] in _QUANTITY_KEYS and "usage" not in path


NUMBERS = [p for p, v in _leaves(FULL) if isinstance(v, int | float) and not isinstance(v, bool)]
NUMBERS = [p for p in NUMBERS if not _is_quantity(p)]
QUANTITIES = [p for p, _ in _leaves(FULL) if _is_quantity(p)]
BOOLEANS = [p for p, v in _leaves(FULL) if isinstance(v, bool)]


def _dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _with(path: Path_, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(FULL)
    node: Any = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return data


def _line_of(text: str, path: Path_) -> int:
    """Line of the key (or list item) at ``path`` in ``text``, from PyYAML's own marks."""
    node: Any = yaml.compose(text, Loader=yaml.SafeLoader)
    line = 0
    for part in path:
        if isinstance(part, int):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            key, node = next((k, v) for k, v in node.value if k.value == part)
            line = key.start_mark.line + 1
    return line


def _refusal(path: Path_, value: Any) -> str:
    """The loader's message for FULL with ``value`` at ``path``; fails if it loads."""
    text = yaml.safe_dump(_with(path, value), sort_keys=False)
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(text, source="full.yaml")
    message = str(exc.value)
    assert f"full.yaml: line {_line_of(text, path)}: {_dotted(path)}: " in message, (
        value,
        message,
    )
    assert "\n" not in message, message  # one problem, one line
    return message


def test_the_full_scenario_loads() -> None:
    parse_scenario(yaml.safe_dump(FULL, sort_keys=False), source="full.yaml")


# ------------------------------------------------- FULL sets every field it should


def _members(tp: Any) -> list[Any]:
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _members(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType, list, dict, tuple):
        return [m for arg in typing.get_args(tp) for m in _members(arg)]
    return [tp]


def _scalar_fields(model: type[BaseModel]) -> Iterator[str]:
    """Fields of ``model`` holding numbers, quantities or booleans."""
    for name, field in model.model_fields.items():
        if any(m in (int, float, bool) for m in _members(field.annotation)):
            yield name


def _models(value: Any) -> Iterator[BaseModel]:
    if isinstance(value, BaseModel):
        yield value
        for name in type(value).model_fields:
            yield from _models(getattr(value, name))
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _models(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _models(item)


def test_full_sets_every_number_quantity_and_boolean_of_every_model() -> None:
    scenario = Scenario.model_validate(FULL)
    every: set[tuple[str, str]] = set()
    seen: set[tuple[str, str]] = set()
    for model in _models(scenario):
        cls = type(model)
        for name in _scalar_fields(cls):
            every.add((cls.__name__, name))
            if name in model.model_fields_set:
                seen.add((cls.__name__, name))
    assert every - seen == set()
    # The walk found the models it should (a guard against an empty walk).
    assert {"HostModel", "Vm", "Usage", "Constraints", "DisruptionBudget"} <= {
        cls for cls, _ in every
    }


def test_every_number_field_has_both_bounds() -> None:
    # Read from the models themselves: a number field without ge/gt and le/lt is a number
    # nothing stops at a typo (quantities are bounded by their validators, see below).
    def bounds(field: Any) -> set[str]:
        found: set[str] = set()
        for meta in field.metadata:
            found |= {k for k in ("ge", "gt", "le", "lt") if getattr(meta, k, None) is not None}
        for member in typing.get_args(field.annotation):
            for meta in getattr(member, "__metadata__", ()):
                found |= bounds(meta) if hasattr(meta, "metadata") else set()
        return found

    missing = []
    for model in {type(m) for m in _models(Scenario.model_validate(FULL))}:
        for name in _scalar_fields(model):
            field = model.model_fields[name]
            quantity = field.alias in _QUANTITY_KEYS and model.__name__ != "Usage"
            if bool in _members(field.annotation) or quantity or name == "points":
                continue  # points are bounded by PowerCurve's validator
            if (model.__name__, name) == ("PlacementSettings", "args"):
                continue  # each plugin bounds its own arguments (Registry.configure)
            have = bounds(field)
            if not ({"ge", "gt"} & have and {"le", "lt"} & have):
                missing.append(f"{model.__name__}.{name}")
    assert missing == []


# ------------------------------------------------------------- each leaf, broken


@pytest.mark.parametrize("path", NUMBERS, ids=_dotted)
def test_numbers_refuse_nan_infinity_text_booleans_and_the_absurd(path: Path_) -> None:
    for bad in (math.nan, math.inf, -math.inf):
        assert "finite number" in _refusal(path, bad)
    assert "expected a number, got '3'" in _refusal(path, "3")
    assert "expected a number, got True" in _refusal(path, True)
    # Every number has a lower and an upper bound (no field takes ±1e300; pydantic refuses
    # so large a float for a whole number before the bound, in its own words).
    for absurd in (1e300, -1e300):
        message = _refusal(path, absurd)
        assert any(
            words in message
            for words in ("greater than", "less than", "exceeded maximum size", "not a power draw")
        ), message


@pytest.mark.parametrize("path", QUANTITIES, ids=_dotted)
def test_quantities_refuse_what_is_not_one(path: Path_) -> None:
    not_quantities = ["5Zi", "1.5.3", "4 gi", "nan", "١", "", "1e99999999", True, math.nan]
    for bad in not_quantities:
        _refusal(path, bad)
    assert "got a mapping" in _refusal(path, {"value": 4})
    assert "got a list" in _refusal(path, [4])
    assert "must not be negative" in _refusal(path, "-1")
    assert "is the unit right?" in _refusal(path, "99999Ti" if path[-1] == "memory" else "99999")


@pytest.mark.parametrize("path", BOOLEANS, ids=_dotted)
def test_booleans_refuse_numbers_and_text(path: Path_) -> None:
    for bad in (1, 0, "yes", "true"):
        assert "valid boolean" in _refusal(path, bad)


# ------------------------------------------------------------------- end to end


def test_nan_in_a_file_exits_2_with_the_file_line_and_field(tmp_path: Path) -> None:
    text = yaml.safe_dump(FULL, sort_keys=False).replace("price_usd: 10000", "price_usd: .nan")
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    line = text.splitlines().index("    price_usd: .nan") + 1
    result = CliRunner().invoke(app, ["compare", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: {path}: line {line}: hardware.host_models[0].price_usd: "
        "Input should be a finite number (got nan)\n"
    )
