"""Every exported custom resource validates against its CRD's openAPIV3Schema (the
published CRDs in ../shared/data/crds), and holds no field the schema lacks (the API
server would drop it silently: a typo would vanish)."""

from __future__ import annotations

from functools import cache
from typing import Any

import jsonschema
import pytest
from cases import CAPI, CRDS, EXAMPLE_NAMES, crd_schema, exported, first_exported

pytestmark = pytest.mark.skipif(
    not CRDS.is_dir(), reason=f"the CRD schemas are not there ({CRDS}): nothing to check against"
)


@cache
def validator(kind: str, api_version: str) -> jsonschema.Draft4Validator:
    """A validator of ``kind``'s CRD schema (OpenAPI v3 schemas are JSON Schema draft 4
    with extensions), its schema checked once."""
    schema = crd_schema(kind, api_version)
    assert schema is not None, f"no CRD for {kind} {api_version}"
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


def unknown_fields(value: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """Dotted paths of the fields of ``value`` its structural ``schema`` does not declare
    (what the API server prunes)."""
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return []
    out: list[str] = []
    if isinstance(value, dict):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if here == "metadata":  # ObjectMeta: the API server's own schema, not the CRD's
                continue
            if props is not None and key in props:
                out += unknown_fields(item, props[key], here)
            elif isinstance(extra, dict):
                out += unknown_fields(item, extra, here)
            else:
                out.append(here)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            out += unknown_fields(item, schema["items"], f"{path}.{i}")
    return out


def test_unknown_fields_finds_a_typo() -> None:
    schema = {"properties": {"spec": {"properties": {"replicas": {"type": "integer"}}}}}
    assert unknown_fields({"spec": {"replica": 3}}, schema) == ["spec.replica"]
    assert unknown_fields({"spec": {"replicas": 3}}, schema) == []


@pytest.mark.parametrize("target", CAPI)
@pytest.mark.parametrize("example", EXAMPLE_NAMES)
def test_every_object_validates(example: str, target: str) -> None:
    # the exports of the golden files (test_export_golden.py)
    _, out = first_exported(example, target)
    if isinstance(out, str):
        pytest.skip(f"{target} cannot express {example}: {out}")
    assert out, "an export writes objects"
    for m in out:
        schema = crd_schema(m.kind, m.api_version)
        assert schema is not None, f"no CRD for {m.kind} {m.api_version}"
        validator(m.kind, m.api_version).validate(m.body)
        assert unknown_fields(m.body, schema) == [], f"{m.kind} {m.name}"


def test_a_bad_object_fails_validation() -> None:
    # the check can fail: a MachineDeployment without its clusterName is refused
    out = exported("ai-platform", "baremetal-shared", "capi-metal3")
    assert not isinstance(out, str)
    md = next(m for m in out if m.kind == "MachineDeployment")
    body = {**md.body, "spec": {k: v for k, v in md.body["spec"].items() if k != "clusterName"}}
    schema = crd_schema(md.kind, md.api_version)
    assert schema is not None
    with pytest.raises(jsonschema.ValidationError):
        validator(md.kind, md.api_version).validate(body)
