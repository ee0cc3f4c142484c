"""The cited defaults (``defaults.yaml``) and their loader."""

from underlay.defaults.catalog import Defaults, load_defaults, raw_defaults

__all__ = ["Defaults", "load_defaults", "raw_defaults"]
