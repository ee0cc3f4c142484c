"""docs/json.md describes `underlay calibrate --json` field for field: every field of the
run's dataclasses (what ``--json`` prints through ``asdict``) is named in its section."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from underlay.calibration.results import (
    Calibration,
    Comparison,
    Figure,
    NeighbourCase,
    OverheadRun,
    ProbeStats,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "json.md"


def calibrate_section() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("## The calibration (`underlay calibrate --json`)")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else len(text)]


@pytest.mark.parametrize(
    "kind", [Calibration, OverheadRun, NeighbourCase, ProbeStats, Comparison, Figure]
)
def test_every_field_is_documented(kind: type) -> None:
    section = calibrate_section()
    missing = [f.name for f in dataclasses.fields(kind) if f'"{f.name}"' not in section]
    assert not missing, f"{kind.__name__}: {missing} not in docs/json.md"


def test_the_changes_are_documented() -> None:
    assert '"default_changes"' in calibrate_section()
