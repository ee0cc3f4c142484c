"""Scenario models, Kubernetes quantities, and loading + validation of scenario files."""

from underlay.model.loading import load_scenario, parse_scenario
from underlay.model.scenario import Scenario

__all__ = ["Scenario", "load_scenario", "parse_scenario"]
