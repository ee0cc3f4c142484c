"""The one exception hierarchy of underlay.

Every error a user can cause derives from :class:`UnderlayError`; the CLI catches only
that base, prints ``Error: <message>`` with no traceback and exits with the error's
``exit_code``.

    UnderlayError                 exit 1 unless stated
    ├── InputError                exit 2: a file the user gave is wrong
    │   ├── ScenarioError         the scenario file (YAML or its fields)
    │   ├── TraceError            an imported dump or trace (CSV, JSON)
    │   ├── CalibrationError      a calibration file (``underlay calibrate``'s output)
    │   └── ExportError           an export target cannot express the plan
    └── InfeasibleError           exit 3: the scenario cannot be satisfied at all

"Does not fit" for a single pod is *not* an error: placement reports it as data.
"""

from __future__ import annotations

__all__ = [
    "CalibrationError",
    "ExportError",
    "InfeasibleError",
    "InputError",
    "ScenarioError",
    "TraceError",
    "UnderlayError",
]


class UnderlayError(Exception):
    """Base of every error underlay raises on purpose."""

    exit_code = 1


class InputError(UnderlayError):
    """A file given by the user cannot be used; the message names file, field and problem."""

    exit_code = 2


class ScenarioError(InputError):
    """The scenario file is malformed or describes something impossible."""


class TraceError(InputError):
    """An imported dump or trace file is malformed."""


class CalibrationError(InputError):
    """A calibration file is malformed or names a default that does not exist."""


class InfeasibleError(UnderlayError):
    """The scenario is valid but cannot be satisfied (e.g. nothing fits anywhere)."""

    exit_code = 3


class ExportError(InputError):
    """An export target cannot express the plan (GPUs a target has no devices for, pods
    the plan left unplaced, a name no Kubernetes object can take …); exit 2."""
