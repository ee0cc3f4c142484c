"""Helpers of the ``kubernetes`` / ``karpenter`` export tests: a scenario placed on one
substrate as the targets take it, the objects of one kind, and the value a FieldSource
path names."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from underlay.bundled import example_text, examples
from underlay.defaults.catalog import load_defaults
from underlay.export.manifest import ExportInput, Manifest
from underlay.model.calibration import scenario_overrides
from underlay.model.loading import parse_scenario
from underlay.model.scenario import Scenario
from underlay.pipeline import place

REPO = Path(__file__).resolve().parents[1]
CRDS = REPO.parent / "shared" / "data" / "crds"
NODEPOOL_CRD = CRDS / "karpenter.sh_nodepools.yaml"


def export_input(scenario: Scenario, label: str) -> ExportInput:
    """``scenario`` placed on substrate ``label`` with the defaults it asks for."""
    defaults = load_defaults(scenario_overrides(scenario))
    return ExportInput(scenario, defaults, label, place(scenario, defaults, label))


def of_kind(manifests: list[Manifest], kind: str) -> list[Manifest]:
    """The manifests of ``kind``, in order."""
    return [m for m in manifests if m.kind == kind]


def named(
    manifests: list[Manifest], kind: str, name: str, namespace: str | None = None
) -> Manifest:
    """The one manifest of ``kind`` called ``name`` (in ``namespace`` when given)."""
    found = [
        m
        for m in of_kind(manifests, kind)
        if m.name == name
        and (namespace is None or m.body["metadata"].get("namespace") == namespace)
    ]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def at_path(body: Any, path: str) -> Any:
    """The value at a FieldSource ``path``: segments joined by ``.``, a list item by its
    index; a key that itself holds dots (``requests.cpu`` of a quota) is matched whole,
    the longest key first."""
    parts = path.split(".")
    node = body
    i = 0
    while i < len(parts):
        if isinstance(node, list):
            node = node[int(parts[i])]
            i += 1
            continue
        for j in range(len(parts), i, -1):
            key = ".".join(parts[i:j])
            if isinstance(node, dict) and key in node:
                node = node[key]
                i = j
                break
        else:
            raise KeyError(f"{path}: no {parts[i]!r} in {node!r}")
    return node


@cache
def bundled_input(name: str, label: str) -> ExportInput:
    """Bundled example ``name`` placed on ``label`` (placed once per test session)."""
    return export_input(parse_scenario(example_text(name), source=name), label)


def bundled_cases() -> list[tuple[str, str]]:
    """(example, substrate label) for every substrate of every bundled example."""
    return [
        (name, label)
        for name in examples()
        for label in parse_scenario(example_text(name), source=name).substrate_labels
    ]
