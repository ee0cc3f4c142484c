"""`underlay schema` is a JSON Schema the bundled examples satisfy; `underlay defaults`
round-trips.

Documents are validated with the jsonschema package (a dev dependency), against the
2020-12 metaschema too; tests/model/test_schema_refusals.py checks that the schema refuses
what the loader refuses.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
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


def _schema() -> dict[str, Any]:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def validation_errors(schema: dict[str, Any], document: Any) -> list[str]:
    """Problems of ``document`` under ``schema``, as the jsonschema package finds them."""
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


# ---------------------------------------------------------------------------- tests


def test_schema_is_a_json_schema() -> None:
    schema = _schema()
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
