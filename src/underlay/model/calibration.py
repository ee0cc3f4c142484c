"""The calibration file (``underlay calibrate``'s output): YAML → validated model.

Format (version 1)::

    calibration: 1                      # format version
    host: worker-17                     # where it was measured
    measured_at: "2026-12-03T08:00:00Z" # ISO 8601
    cpu_model: "Intel(R) Xeon(R) ..."
    cores: 2
    cgroup: v1                          # v1 | v2 | none
    duration_s: 20
    figures:                            # each replaces one default, by its path
      - default: interference.slowdown_at_full_load
        value: 0.07                     # or null, with not_measured
        unit: share of work lost
        how: "probe work lost beside a memory-bandwidth hog"
      - default: hypervisors.kvm.cpu_overhead_percent
        value: null
        not_measured: "/dev/kvm not usable"

It is read as strictly as a scenario (the same YAML reader, :mod:`underlay.model.strict_yaml`):
unknown keys, wrong types, a ``default`` that is not a numeric default of ``underlay
defaults`` or a value its field refuses (a CPU overhead of 120 %) are each one
:class:`~underlay.errors.CalibrationError` line naming the file, the line and the field.
"""

from __future__ import annotations

import difflib
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator

from underlay.errors import CalibrationError, ScenarioError
from underlay.files import read_text
from underlay.model.fields import Real, Whole, _Model
from underlay.model.measured import MeasuredDefault, MeasuredDefaults, merge_overrides
from underlay.model.messages import error_message, listing
from underlay.model.scenario import Scenario
from underlay.model.strict_yaml import Loc, clip, parse_yaml

__all__ = [
    "FORMAT_VERSION",
    "MAX_CALIBRATION_BYTES",
    "CalibrationFigure",
    "CalibrationFile",
    "defaults_with_measured",
    "load_calibration",
    "measured_defaults",
    "numeric_defaults",
    "parse_calibration",
    "read_measured",
    "scenario_overrides",
]

FORMAT_VERSION = 1
MAX_CALIBRATION_BYTES = 2**20
"""Largest calibration file read (1 MiB; a real one is about 2 KiB)."""

Text = Annotated[str, Field(max_length=500)]


class CalibrationFigure(_Model):
    """One default the calibration measured (``value``) or could not (``not_measured``)."""

    default: Annotated[str, Field(min_length=1, max_length=200)]
    value: Real | None
    unit: Text = ""
    how: Text = ""
    not_measured: Text = ""

    @model_validator(mode="after")
    def _value_or_reason(self) -> CalibrationFigure:
        if self.value is None and not self.not_measured.strip():
            raise ValueError("value is null: say why under not_measured")
        if self.value is not None and self.not_measured:
            raise ValueError("give a value or not_measured, not both")
        return self


class CalibrationFile(_Model):
    """A calibration file, as written (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    calibration: Literal[1] = Field(description="format version")
    host: Annotated[str, Field(min_length=1, max_length=253)]
    measured_at: Annotated[str, Field(max_length=40)]
    cpu_model: Text = ""
    cores: Annotated[Whole, Field(ge=1, le=4096)]
    cgroup: Literal["v1", "v2", "none"]
    duration_s: Annotated[Real, Field(gt=0)]
    figures: list[CalibrationFigure] = Field(default_factory=list)

    @field_validator("measured_at")
    @classmethod
    def _iso_date(cls, value: str) -> str:
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(
                f"{clip(value)} is not an ISO 8601 date and time (e.g. 2026-12-03T08:00:00Z)"
            ) from None
        return value


@cache
def numeric_defaults() -> dict[str, float]:
    """Every numeric default of ``underlay defaults`` by its dotted path (mappings only:
    numbers inside lists, such as tiers, have no path of their own)."""
    from underlay.defaults.catalog import raw_defaults

    out: dict[str, float] = {}

    def walk(node: dict[str, Any], prefix: str) -> None:
        for key, value in node.items():
            path = f"{prefix}{key}"
            if isinstance(value, dict):
                walk(value, f"{path}.")
            elif isinstance(value, int | float) and not isinstance(value, bool):
                out[path] = float(value)

    walk(raw_defaults(), "")
    return out


def load_calibration(path: str | Path) -> CalibrationFile:
    """Read and validate the calibration file at ``path``."""
    path = Path(path)
    text = read_text(path, CalibrationError, "a calibration file", max_bytes=MAX_CALIBRATION_BYTES)
    return parse_calibration(text, source=str(path))


def parse_calibration(text: str, *, source: str = "<calibration>") -> CalibrationFile:
    """Validate calibration YAML ``text``; ``source`` names it in error messages."""
    if not text.strip():
        raise CalibrationError(f"{source}: the file is empty, expected a calibration file")
    try:
        root, data = parse_yaml(text, source)
    except ScenarioError as exc:  # the strict reader's own refusals, worded for any file
        raise CalibrationError(str(exc)) from None
    if not isinstance(data, dict):
        kind = type(data).__name__ if data is not None else "nothing"
        raise CalibrationError(
            f"{source}: expected a mapping of calibration fields at the top, got {kind}"
        )
    try:
        cal = CalibrationFile.model_validate(data)
    except ValidationError as exc:
        problems: list[tuple[Loc, str]] = []
        for err in exc.errors(include_url=False):
            loc = tuple(p for p in err["loc"] if not str(p).startswith("function-"))
            problems.append((loc, error_message(err, loc, CalibrationFile)))
        raise CalibrationError(listing(source, root, problems)) from None
    problems = _default_problems(cal)
    if problems:
        raise CalibrationError(listing(source, root, problems))
    return cal


def _default_problems(cal: CalibrationFile) -> list[tuple[Loc, str]]:
    """Figures naming no numeric default, twice the same one, or a value it refuses."""
    from underlay.defaults.catalog import override_errors

    known = numeric_defaults()
    problems: list[tuple[Loc, str]] = []
    seen: dict[str, int] = {}
    for i, fig in enumerate(cal.figures):
        if fig.default not in known:
            hint = difflib.get_close_matches(fig.default, list(known), n=1, cutoff=0.6)
            fix = f"; did you mean {hint[0]!r}?" if hint else ""
            problems.append(
                (
                    ("figures", i, "default"),
                    f"{clip(fig.default)} is not a numeric default of `underlay defaults`{fix}",
                )
            )
            continue
        if fig.default in seen:
            problems.append(
                (("figures", i, "default"), f"{fig.default} is already figure {seen[fig.default]}")
            )
            continue
        seen[fig.default] = i
        if fig.value is None:
            continue
        nested: dict[str, Any] = MeasuredDefaults("", "", "", (_one(fig),)).overrides()
        for err in override_errors(nested)[:1]:
            problems.append((("figures", i, "value"), f"{err['msg']} (got {fig.value:g})"))
    return problems


def _one(fig: CalibrationFigure) -> MeasuredDefault:
    return MeasuredDefault(fig.default, float(fig.value or 0.0), fig.unit, fig.how)


def measured_defaults(cal: CalibrationFile, source: str) -> MeasuredDefaults:
    """The figures ``cal`` measured (those with a value), as the defaults load them."""
    return MeasuredDefaults(
        source=source,
        host=cal.host,
        measured_at=cal.measured_at,
        figures=tuple(_one(f) for f in cal.figures if f.value is not None),
    )


def read_measured(path: Path) -> MeasuredDefaults:
    """The measured figures of the calibration file at ``path``."""
    return measured_defaults(load_calibration(path), str(path))


def scenario_overrides(scenario: Scenario) -> dict[str, Any]:
    """What ``scenario``'s defaults are loaded with: its calibration's measured figures
    (read now, relative to its folder, when it was not loaded from a file), with its own
    ``overrides`` over them."""
    if scenario.calibration and scenario.measured is None:
        scenario.with_measured(read_measured(scenario.base_dir / scenario.calibration))
    return scenario.defaults_overrides


def defaults_with_measured(measured: MeasuredDefaults) -> dict[str, Any]:
    """The defaults as ``underlay defaults --calibration`` prints them: each measured figure
    in place of the cited one, its section's ``source`` saying so first ("<field>: measured
    on <host> at <date> (<how>)"), and a closing ``measured`` section listing each figure
    with the cited value it replaced."""
    from underlay.defaults.catalog import raw_defaults

    data = merge_overrides(raw_defaults(), measured.overrides())
    cited = numeric_defaults()
    listed: dict[str, Any] = {}
    for fig in measured.figures:
        parts = fig.path.split(".")
        sections = [data]  # sections[i] holds the field at parts[i:]
        for key in parts[:-1]:
            sections.append(sections[-1][key])
        # the nearest enclosing section that cites a source (a hypervisor's, for its
        # vm_memory_overhead.fixed_mib)
        at = next((i for i in reversed(range(len(sections))) if "source" in sections[i]), None)
        how = f" ({fig.how})" if fig.how else ""
        if at is not None and isinstance(sections[at]["source"], str):
            mark = f"{'.'.join(parts[at:])} {fig.value:g}: {measured.note}{how}"
            old = sections[at]["source"]
            sections[at]["source"] = f"{mark}; cited {cited[fig.path]:g}: {old}"
        listed[fig.path] = {
            "value": fig.value,
            "cited": cited[fig.path],
            "unit": fig.unit,
            "source": f"{measured.note}{how}, {measured.source}",
        }
    data["measured"] = listed
    return data
