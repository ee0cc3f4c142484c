"""`underlay schema` is a JSON Schema the bundled examples satisfy; `underlay defaults`
round-trips.

jsonschema is not a dependency: when it is installed the schema is checked against the
2020-12 metaschema and documents are validated with it; otherwise a small validator of
the keywords pydantic emits (below) stands in.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from factories import scenario_dict
from underlay.cli import app
from underlay.defaults.catalog import raw_defaults
from underlay.model.loading import load_scenario

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))
runner = CliRunner()

try:
    import jsonschema
except ImportError:  # pragma: no cover - depends on the environment
    jsonschema = None


def _schema() -> dict[str, Any]:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


# ---------------------------------------------------------------- a small validator

_TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "null": type(None),
}


def _is(value: Any, kind: str) -> bool:
    if kind in ("integer", "number") and isinstance(value, bool):
        return False
    if kind == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES[kind])


def _errors(schema: dict[str, Any], value: Any, root: dict[str, Any], path: str) -> list[str]:
    """Problems of ``value`` against ``schema`` (the keywords pydantic's schemas use)."""
    if "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return _errors(target, value, root, path)
    out: list[str] = []
    if "type" in schema:
        kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is(value, k) for k in kinds):
            return [f"{path}: not {schema['type']}"]
    if "const" in schema and value != schema["const"]:
        out.append(f"{path}: not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{path}: not one of {schema['enum']}")
    for key, branches in (("anyOf", "any"), ("oneOf", "one")):
        if key in schema:
            ok = [not _errors(b, value, root, path) for b in schema[key]]
            if (branches == "any" and not any(ok)) or (branches == "one" and sum(ok) != 1):
                out.append(f"{path}: fails {key}")
    for sub in schema.get("allOf", []):
        out += _errors(sub, value, root, path)
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", 1e9):
            out.append(f"{path}: length")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            out.append(f"{path}: pattern")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            out.append(f"{path}: below minimum")
        if "maximum" in schema and value > schema["maximum"]:
            out.append(f"{path}: above maximum")
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            out.append(f"{path}: not above exclusiveMinimum")
        if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
            out.append(f"{path}: not below exclusiveMaximum")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            out.append(f"{path}: too few items")
        if "items" in schema:
            for i, item in enumerate(value):
                out += _errors(schema["items"], item, root, f"{path}[{i}]")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                out.append(f"{path}.{key}: required")
        for key, item in value.items():
            if key in props:
                out += _errors(props[key], item, root, f"{path}.{key}")
            elif schema.get("additionalProperties") is False:
                out.append(f"{path}.{key}: additional property")
            elif isinstance(schema.get("additionalProperties"), dict):
                out += _errors(schema["additionalProperties"], item, root, f"{path}.{key}")
    return out


def validation_errors(schema: dict[str, Any], document: Any) -> list[str]:
    """Problems of ``document``; jsonschema's when available, else the small validator's."""
    if jsonschema is not None:
        validator = jsonschema.Draft202012Validator(schema)
        return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
    return _errors(schema, document, schema, "$")


# ---------------------------------------------------------------------------- tests


def test_schema_is_a_json_schema() -> None:
    schema = _schema()
    if jsonschema is not None:
        jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["type"] == "object"
    assert schema["title"] == "Scenario"
    assert {"name", "hardware", "tenants"} <= set(schema["required"])
    assert schema["additionalProperties"] is False
    # Every $ref resolves.
    text = json.dumps(schema)
    for ref in set(re.findall(r'"\$ref": "#/\$defs/([^"]+)"', text)):
        assert ref in schema["$defs"], ref
    # Quantities are documented as such.
    host = schema["$defs"]["HostModel"]["properties"]
    assert "cores" in host and "memory" in host
    assert "quantity" in host["memory"]["description"]


def test_the_validator_rejects_what_the_loader_rejects() -> None:
    # Guards against a vacuous validator: these must fail.
    schema = _schema()
    bad = [
        scenario_dict(tenants=[{"name": "t", "clusters": [{"name": "c", "workloadz": []}]}]),
        scenario_dict(placement={"strategy": "worst-fit"}),
        scenario_dict(substrates=[{"kind": "mainframe"}]),
        scenario_dict(tenants=[]),
        {"name": "x"},
    ]
    for doc in bad:
        assert validation_errors(schema, doc), doc


def test_a_scenario_with_explicit_clusters_validates() -> None:
    doc = scenario_dict(
        tenants=[
            {
                "name": "t",
                "clusters": [
                    {
                        "name": "c",
                        "workloads": [
                            {"name": "w", "replicas": 2, "requests": {"cpu": "1", "memory": "1Gi"}}
                        ],
                    }
                ],
            }
        ],
        substrates=[{"kind": "vm", "hypervisor": "esxi"}, {"kind": "sandboxed"}],
    )
    assert validation_errors(_schema(), doc) == []


@pytest.mark.parametrize("example", [pytest.param(p, id=p.stem) for p in EXAMPLES])
def test_bundled_examples_validate_against_the_schema(example: Path) -> None:
    load_scenario(example)  # underlay itself accepts it
    document = yaml.safe_load(example.read_text(encoding="utf-8"))
    assert validation_errors(_schema(), document) == []


def test_saas_platform_example_is_bundled() -> None:
    assert REPO / "examples" / "saas-platform.yaml" in EXAMPLES


def test_defaults_yaml_round_trips() -> None:
    result = runner.invoke(app, ["defaults"])
    assert result.exit_code == 0
    assert yaml.safe_load(result.stdout) == raw_defaults()
    # Every section keeps its source text.
    assert "source:" in result.stdout


def test_defaults_json_round_trips() -> None:
    result = runner.invoke(app, ["defaults", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == json.loads(json.dumps(raw_defaults()))


def test_defaults_output_is_a_valid_overrides_block() -> None:
    # What `underlay defaults` prints can be pasted under `overrides:` unchanged.
    from underlay.defaults.catalog import load_defaults

    result = runner.invoke(app, ["defaults"])
    assert load_defaults(yaml.safe_load(result.stdout)) == load_defaults()


def test_help_lists_the_verbs() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for verb in ("compare", "schema", "defaults"):
        assert verb in result.stdout
