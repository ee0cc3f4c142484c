"""underlay's version, in a module of its own so that any stage may read it (the HTML
report prints it) without importing the package root, which re-exports the whole API."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
