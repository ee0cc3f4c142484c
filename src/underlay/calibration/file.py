"""Writing and reading the calibration file (format: :mod:`underlay.model.calibration`).

:func:`write_calibration` lays a :class:`~underlay.calibration.results.Calibration` out as
the file, checks it with the very reader users' files go through (a figure naming no
default is a bug here, refused before anything is written) and writes it atomically;
:func:`read_calibration` reads a file back into a ``Calibration`` (its figures, with the
cited default beside each; the raw overhead runs and noisy-neighbour cases stay in the
run's report, not in the file).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from underlay.calibration.results import Calibration, Figure
from underlay.files import write_atomically, yaml_text
from underlay.model.calibration import (
    FORMAT_VERSION,
    load_calibration,
    numeric_defaults,
    parse_calibration,
)

__all__ = ["calibration_data", "read_calibration", "write_calibration"]


def calibration_data(cal: Calibration) -> dict[str, Any]:
    """``cal`` in the layout of the calibration file (keys in the documented order)."""
    figures: list[dict[str, Any]] = []
    for fig in cal.figures:
        entry: dict[str, Any] = {"default": fig.default, "value": fig.measured}
        if fig.unit:
            entry["unit"] = fig.unit
        if fig.how:
            entry["how"] = fig.how
        if fig.measured is None:
            entry["not_measured"] = fig.why_not or "not measured"
        figures.append(entry)
    return {
        "calibration": FORMAT_VERSION,
        "host": cal.host,
        "measured_at": cal.measured_at,
        "cpu_model": cal.cpu_model,
        "cores": cal.cores,
        "cgroup": cal.cgroup,
        "duration_s": cal.duration_s,
        "figures": figures,
    }


def write_calibration(cal: Calibration, path: str | Path) -> None:
    """Write ``cal`` to ``path`` as a calibration file: all of it or nothing.

    The text is validated first as a user's file would be
    (:class:`~underlay.errors.CalibrationError` naming the figure otherwise), so a file
    underlay writes is always one it reads.
    """
    path = Path(path)
    text = yaml_text(calibration_data(cal))
    parse_calibration(text, source=f"{path} (as it would be written)")
    write_atomically(path, text)


def read_calibration(path: str | Path) -> Calibration:
    """The calibration file at ``path`` as a ``Calibration`` (figures only)."""
    data = load_calibration(path)
    cited = numeric_defaults()
    return Calibration(
        host=data.host,
        measured_at=data.measured_at,
        cpu_model=data.cpu_model,
        cores=data.cores,
        cgroup=data.cgroup,
        duration_s=data.duration_s,
        figures=[
            Figure(
                default=f.default,
                cited=cited[f.default],
                measured=f.value,
                unit=f.unit,
                how=f.how,
                why_not=f.not_measured,
            )
            for f in data.figures
        ],
    )
