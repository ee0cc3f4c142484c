"""Calibration on the user's own hardware (``underlay calibrate``): microbenchmarks run
natively, in a container sandbox and in a KVM guest; the noisy-neighbour experiments
under soft CPU shares and hard quotas; the model's prediction beside each measurement;
and the calibration file a scenario uses to replace the cited defaults it measured.

    from underlay.calibration import run_calibration
    calibration = run_calibration(20, progress=print)

``run_calibration`` loads on first use (PEP 562): the workload processes import this
package too, and need none of the pipeline.
"""

from __future__ import annotations

import importlib
import typing

if typing.TYPE_CHECKING:
    from underlay.calibration.run import run_calibration

__all__ = ["run_calibration"]


def __getattr__(name: str) -> object:
    """``run_calibration``, imported from its module on first use."""
    if name != "run_calibration":
        raise AttributeError(f"module 'underlay.calibration' has no attribute {name!r}")
    value = getattr(importlib.import_module("underlay.calibration.run"), name)
    globals()[name] = value
    return value
