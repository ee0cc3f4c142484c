"""What every export target produces and takes (plain data).

- :class:`ExportInput`: one placed substrate of a scenario, with the defaults it used;
- :class:`FieldSource`: where one number of a manifest comes from (written as a comment
  beside it);
- :class:`Manifest`: one Kubernetes object and the file it goes to;
- :data:`Target`: a function from an :class:`ExportInput` to its manifests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from underlay.defaults.catalog import Defaults
from underlay.model.scenario import Scenario
from underlay.placement.result import SubstratePlacement

__all__ = ["ExportInput", "FieldSource", "Manifest", "Target"]


@dataclass(frozen=True)
class ExportInput:
    """One substrate of a scenario, placed: what a target exports."""

    scenario: Scenario
    defaults: Defaults
    substrate: str  # the substrate's name in the scenario
    placement: SubstratePlacement
    source: Path | None = None  # the scenario or plan file exported (named in comments)


@dataclass(frozen=True)
class FieldSource:
    """One number of a manifest and the figure underlay used for it.

    ``path`` is the dotted path of the field in the object (list items by index:
    ``spec.template.spec.devices.0.name``); ``figure`` says which figure it is and where it
    comes from (``"node reservation: 1.2 cores (defaults kubelet.system_reserved)"``).
    """

    path: str
    figure: str


@dataclass(frozen=True)
class Manifest:
    """One Kubernetes object (``body`` holds apiVersion, kind, metadata, spec …) and the
    file of the export folder it is written to (``file``, relative, ``/``-separated)."""

    body: dict[str, Any]
    file: str
    sources: tuple[FieldSource, ...] = field(default_factory=tuple)

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", ""))

    @property
    def api_version(self) -> str:
        return str(self.body.get("apiVersion", ""))

    @property
    def name(self) -> str:
        return str(self.body.get("metadata", {}).get("name", ""))


Target = Callable[[ExportInput], list[Manifest]]
"""An export target: one placed substrate → its manifests."""
