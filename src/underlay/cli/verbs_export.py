"""``underlay export``: one substrate of a scenario (by default a plan file's plan),
placed, written as the manifests a team applies (``underlay.export``).

Everything is checked before anything is written: the target, the output folder, the
scenario, the substrate, and whether the target can express the plan; the folder then
appears whole (``underlay.export.writer``), or, on any error, not at all.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from underlay.cli.app import app
from underlay.cli.help import Command
from underlay.cli.options import AllowPathsOpt
from underlay.cli.output import fail, note
from underlay.errors import InputError, ScenarioError, UnderlayError
from underlay.model.scenario import Hybrid, Scenario

__all__ = ["export", "export_substrate"]

_PLAN = re.compile(r"^plan(-\d+)?$")  # the labels `recommend --plan` gives its plan


def export_substrate(scenario: Scenario, given: str | None, source: Path) -> str:
    """The substrate to export: ``given``; else a plan file's plan (the last hybrid
    labelled ``plan`` or ``plan-N``); else the scenario's only substrate."""
    labels = scenario.substrate_labels
    if given is not None:
        if given not in labels:
            raise InputError(
                f"--substrate {given}: {source} has no substrate so called (it lists: "
                f"{', '.join(labels)})"
            )
        return given
    plans = [
        s.name for s in scenario.substrates if isinstance(s, Hybrid) and _PLAN.match(s.name or "")
    ]
    if plans:
        return str(plans[-1])
    if len(labels) == 1:
        return labels[0]
    raise InputError(
        f"{source}: which substrate? It lists {', '.join(labels)} and no plan (a file "
        "`underlay recommend --plan` writes holds one): name one with --substrate"
    )


@app.command(cls=Command)
def export(
    scenario: Annotated[
        Path, typer.Argument(help="scenario YAML file, or a plan file of `recommend --plan`")
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", metavar="DIR", help="the folder to write")
    ],
    substrate: Annotated[
        str | None,
        typer.Option(
            "--substrate",
            "-s",
            metavar="NAME",
            help="the substrate to export, by name or kind (default: a plan file's plan)",
        ),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            "-t",
            metavar="NAME",
            help="capi-metal3, capi-kubevirt, capi-vsphere, karpenter or kubernetes "
            "(default: the Cluster API target of the substrate's machines)",
        ),
    ] = None,
    into: Annotated[
        str | None,
        typer.Option(
            "--into",
            metavar="CLUSTER",
            help="kubernetes and karpenter targets: every plan cluster merged into this "
            "existing cluster (its namespaces select their plan cluster's nodes)",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="replace the folder when it holds files")
    ] = False,
    allow_paths: AllowPathsOpt = False,
) -> None:
    """Write the plan as the manifests a team applies.

    One substrate of the scenario, placed as compare places it, written into a new
    folder DIR: per cluster its Cluster API objects (Cluster, KubeadmControlPlane,
    MachineDeployments with their kubelet configuration and machine templates of Metal3,
    KubeVirt or vSphere) and BareMetalHost stubs for the hosts; or, for clusters that
    exist, its Kubernetes objects (--target kubernetes) or Karpenter NodePools (--target
    karpenter). A comment beside every number names the figure it comes from. A plan the
    target cannot express is refused, and nothing is written."""
    try:
        written = _export(scenario, output, substrate, target, into, force, allow_paths)
    except UnderlayError as exc:
        raise fail(exc) from None
    note(written)


def _export(
    path: Path,
    output: Path,
    substrate: str | None,
    target: str | None,
    into: str | None,
    force: bool,
    allow_paths: bool,
) -> str:
    from underlay.defaults.catalog import load_defaults
    from underlay.export.manifest import ExportInput
    from underlay.export.targets import INTO_TARGETS, TARGET_NAMES, default_target, target_named
    from underlay.export.writer import check_output_folder, export_files, write_export
    from underlay.model.calibration import scenario_overrides
    from underlay.model.loading import load_scenario
    from underlay.pipeline import place

    if target is not None and target not in TARGET_NAMES:
        raise InputError(f"--target {target}: unknown (known: {', '.join(TARGET_NAMES)})")
    if into is not None and target not in INTO_TARGETS:
        raise InputError(
            f"--into {into}: only with --target {' or '.join(INTO_TARGETS)} (Cluster API "
            "targets make clusters of their own)"
        )
    check_output_folder(output, force)
    sc = load_scenario(path, allow_paths=allow_paths)
    label = export_substrate(sc, substrate, path)
    chosen = target or default_target(sc, label)
    try:
        defaults = load_defaults(scenario_overrides(sc))
        placement = place(sc, defaults, label)
        inp = ExportInput(sc, defaults, label, placement, source=path)
        manifests = target_named(chosen, into)(inp)
    except ScenarioError as exc:
        if not str(exc).startswith(str(path)):
            raise ScenarioError(f"{path}: {exc}") from None
        raise
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
    header = [
        f"underlay export of {path.name}, substrate {label}, target {chosen}.",
        "A comment beside a number names the figure underlay used; CHANGE-ME marks what",
        "the plan cannot know (addresses, images, vCenter). See README, 'Apply the plan'.",
    ]
    files = export_files(manifests, header)
    write_export(output, files, force=force)
    unplaced = sum(u.pods for u in placement.unplaced)
    left = f"; {unplaced} pods did not fit the plan's fleet" if unplaced else ""
    return f"Wrote {output}: {len(manifests)} objects in {len(files)} files ({chosen}){left}"
