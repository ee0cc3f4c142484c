"""Validate exported objects against the real schemas.

- Core kinds (Namespace, ResourceQuota, PodDisruptionBudget, RuntimeClass, Node,
  ValidatingAdmissionPolicy …) with the ``kubernetes-validate`` package, against the
  OpenAPI schemas of the cluster's Kubernetes minor version. The package ships schemas
  for a range of minors (1.25 … 1.37 in release 1.37.0); a version outside it is mapped
  to the nearest one it has (:func:`schema_version` says which and why).
- Custom resources (a Karpenter NodePool, Cluster API kinds) with ``jsonschema``, against
  the ``openAPIV3Schema`` of the served version of their CustomResourceDefinition.

Both packages are optional (the ``dev`` extra): a missing one raises
:class:`~underlay.errors.ExportError` saying what to install.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from underlay.errors import ExportError
from underlay.export.manifest import Manifest

__all__ = ["crd_schema", "schema_version", "schema_versions", "validate_core", "validate_custom"]

_MINOR = re.compile(r"^v?(\d+)\.(\d+)")


def _module(name: str, package: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        raise ExportError(
            f"validating exported objects needs the {package!r} package: pip install {package}"
        ) from None


def schema_versions() -> list[tuple[int, int]]:
    """The Kubernetes minors ``kubernetes-validate`` has schemas for, oldest first."""
    utils = _module("kubernetes_validate.utils", "kubernetes-validate")
    found = {_parse(v) for v in utils.all_versions()}
    return sorted(v for v in found if v is not None)


def _parse(version: str) -> tuple[int, int] | None:
    m = _MINOR.match(version)
    return (int(m.group(1)), int(m.group(2))) if m else None


def schema_version(version: str) -> tuple[str, str]:
    """(the minor to validate ``version`` against, a note: empty when it is ``version``
    itself, else why another: the nearest minor the package has)."""
    wanted = _parse(version)
    if wanted is None:
        raise ExportError(f"Kubernetes version {version!r} is not MAJOR.MINOR (e.g. 1.31)")
    known = schema_versions()
    if wanted in known:
        return f"{wanted[0]}.{wanted[1]}", ""
    nearest = min(known, key=lambda v: (abs((v[0] - wanted[0]) * 1000 + v[1] - wanted[1]), v))
    text = f"{nearest[0]}.{nearest[1]}"
    lo, hi = known[0], known[-1]
    return text, (
        f"kubernetes-validate has no schemas for Kubernetes {version} (it has "
        f"{lo[0]}.{lo[1]} to {hi[0]}.{hi[1]}): validated against {text}, the nearest"
    )


def validate_core(manifest: Manifest, version: str) -> str | None:
    """The problem with a core-kind ``manifest`` on Kubernetes ``version`` (None: valid),
    as ``file: Kind/name: field.path: message``.

    Objects that differ only in their name and annotation values (the Node of each planned
    node) are validated once: the schemas type both as plain strings, so the answer is the
    same for all of them.
    """
    minor, _ = schema_version(version)
    problem = _validate_once(_canonical(manifest.body), minor)
    return f"{manifest.file}: {manifest.kind}/{manifest.name}: {problem}" if problem else None


def _canonical(body: Mapping[str, Any]) -> str:
    meta = dict(body.get("metadata") or {})
    if isinstance(meta.get("name"), str):
        meta["name"] = "x"
    if isinstance(meta.get("annotations"), dict):
        meta["annotations"] = {
            k: "x" if isinstance(v, str) else v for k, v in meta["annotations"].items()
        }
    return json.dumps({**body, "metadata": meta}, sort_keys=True)


@cache
def _validate_once(canonical: str, minor: str) -> str | None:
    utils = _module("kubernetes_validate.utils", "kubernetes-validate")
    try:
        utils.validate(json.loads(canonical), minor, strict=True)
    except utils.ValidationError as exc:
        return f"{'.'.join(str(p) for p in exc.path) or '(the object)'}: {exc.message}"
    except utils.SchemaNotFoundError as exc:
        return str(exc.message)
    return None


def crd_schema(path: Path, version: str | None = None) -> dict[str, Any]:
    """The ``openAPIV3Schema`` of the CustomResourceDefinition in ``path``: of its
    ``version`` (default: the storage version)."""
    try:
        crd = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ExportError(f"{path}: cannot read the CRD: {exc}") from None
    versions = crd.get("spec", {}).get("versions", []) if isinstance(crd, Mapping) else []
    for v in versions:
        if (version is None and v.get("storage")) or v.get("name") == version:
            schema = v.get("schema", {}).get("openAPIV3Schema")
            if isinstance(schema, dict):
                return schema
    raise ExportError(f"{path}: no openAPIV3Schema for version {version or '(storage)'}")


def validate_custom(manifest: Manifest, schema: Mapping[str, Any]) -> list[str]:
    """Every problem of a custom resource ``manifest`` under its CRD's ``schema``, as
    ``file: Kind/name: field.path: message`` (empty: valid). ``x-kubernetes-*``
    extensions and CEL rules are not checked (jsonschema does not know them)."""
    js = _module("jsonschema", "jsonschema")
    validator = js.Draft7Validator(schema)
    return [
        f"{manifest.file}: {manifest.kind}/{manifest.name}: "
        f"{'.'.join(str(p) for p in e.absolute_path) or '(the object)'}: {e.message}"
        for e in sorted(
            validator.iter_errors(manifest.body), key=lambda e: [str(p) for p in e.absolute_path]
        )
    ]
