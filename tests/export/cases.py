"""The exports the tests share: each bundled example placed once per substrate, exported
on each Cluster API target (cached: placement is the slow part)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

from underlay.defaults.catalog import load_defaults
from underlay.errors import InputError
from underlay.export.manifest import ExportInput, Manifest
from underlay.export.targets import TARGETS, default_target
from underlay.model.calibration import scenario_overrides
from underlay.model.loading import load_scenario
from underlay.pipeline import place

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
EXAMPLE_NAMES = ("ai-platform", "edge-platform", "edge-site", "hybrid-platform", "saas-platform")
CAPI = ("capi-metal3", "capi-kubevirt", "capi-vsphere")
HYBRIDS_FIRST = ("gpu-metal-in-vm-platform", "edge-metal-core-vms")  # bare metal beside VMs
CRDS = REPO.parent / "shared" / "data" / "crds"
if not CRDS.is_dir():  # a worktree sits beside main: both see ../shared
    CRDS = Path("/work/shared/data/crds")


@cache
def export_input(example: str, substrate: str) -> ExportInput:
    """``example`` placed on ``substrate``."""
    path = EXAMPLES / f"{example}.yaml"
    sc = load_scenario(path)
    defaults = load_defaults(scenario_overrides(sc))
    return ExportInput(sc, defaults, substrate, place(sc, defaults, substrate), source=path)


def substrates(example: str) -> list[str]:
    """The substrate labels of ``example``, in file order."""
    return load_scenario(EXAMPLES / f"{example}.yaml").substrate_labels


@cache
def exported(example: str, substrate: str, target: str) -> list[Manifest] | str:
    """The manifests of ``example``'s ``substrate`` on ``target``, or the error saying why
    the target cannot express it."""
    try:
        return TARGETS[target](export_input(example, substrate))
    except InputError as exc:
        return str(exc)


def first_exported(example: str, target: str) -> tuple[str | None, list[Manifest] | str]:
    """The first substrate of ``example`` whose default target is ``target`` that it
    expresses, and its manifests; when none does, the last one tried and its error
    (None and a sentence when the example has no such substrate)."""
    sc = load_scenario(EXAMPLES / f"{example}.yaml")
    labels = [s for s in sc.substrate_labels if default_target(sc, s) == target]
    labels.sort(key=lambda s: s not in HYBRIDS_FIRST)  # the mixed hybrids, where there are
    out: list[Manifest] | str = f"no substrate of {example} is one for {target}"
    for label in labels:
        out = exported(example, label, target)
        if not isinstance(out, str):
            return label, out
    return (labels[-1] if labels else None), out


@cache
def _crds() -> list[dict[str, Any]]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the CRDs are megabytes
    return [
        yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
        for path in sorted(CRDS.glob("*.yaml"))
    ]


@cache
def crd_schema(kind: str, api_version: str) -> dict[str, object] | None:
    """The openAPIV3Schema of ``kind`` at ``api_version`` from ../shared/data/crds (None
    when no CRD there defines it)."""
    group, _, version = api_version.rpartition("/")
    for crd in _crds():
        spec = crd["spec"]
        if spec["group"] != group or spec["names"]["kind"] != kind:
            continue
        for v in spec["versions"]:
            if v["name"] == version:
                schema: dict[str, object] = v["schema"]["openAPIV3Schema"]
                return schema
    return None
