"""The optional extras, imported where a command asks for them: a missing one is one clear
error naming the extra to install, not an ImportError."""

from __future__ import annotations

from typing import Any

from underlay.errors import InputError

__all__ = ["import_ray"]


def import_ray() -> Any:
    """The ``ray`` module (the ``ray`` extra), for ``--ray``."""
    try:
        import ray
    except ImportError:
        raise InputError(
            "--ray: Ray is not installed; install the extra: pip install 'underlay[ray]'"
        ) from None
    return ray
