"""The public API: everything in ``underlay.__all__`` exists and is exported (httpx style)."""

from __future__ import annotations

import importlib

import pytest

import underlay


def test_all_exported_members_exist() -> None:
    for name in underlay.__all__:
        assert hasattr(underlay, name), name


def test_all_is_sorted_and_unique() -> None:
    assert len(set(underlay.__all__)) == len(underlay.__all__)
    assert list(underlay.__all__) == sorted(underlay.__all__, key=lambda n: (n[0].islower(), n))


def test_public_names_are_exported() -> None:
    public = {
        name
        for name, value in vars(underlay).items()
        if not name.startswith("_") and not isinstance(value, type(underlay))
    }
    assert public <= set(underlay.__all__) | {"annotations"}


def test_members_belong_to_underlay() -> None:
    for name in underlay.__all__:
        member = getattr(underlay, name)
        assert member.__module__.startswith("underlay."), (name, member.__module__)
        assert member.__doc__, f"{name} has no docstring"


@pytest.mark.parametrize(
    "module",
    [
        "underlay.model",
        "underlay.defaults",
        "underlay.errors",
        "underlay.pipeline",
        "underlay.placement.engine",
        "underlay.placement.framework",
        "underlay.placement.bounds",
        "underlay.placement.overheads",
        "underlay.placement.strategies",
        "underlay.analysis.capacity",
        "underlay.analysis.capacity_results",
        "underlay.analysis.results",
        "underlay.defaults.upgrade_plans",
        "underlay.simulation.results",
        "underlay.simulation.blocks",
        "underlay.simulation.gpu_shares",
        "underlay.simulation.measures",
        "underlay.simulation.pod_columns",
        "underlay.analysis.cost",
        "underlay.simulation.power",
        "underlay.analysis.failures",
        "underlay.analysis.failure_costs",
        "underlay.analysis.failure_draws",
        "underlay.analysis.failure_groups",
        "underlay.analysis.failure_restarts",
        "underlay.model.traces",
        "underlay.placement.openb_inputs",
        "underlay.report.figure_set",
        "underlay.version",
        "underlay.analysis.isolation",
        "underlay.analysis.lifecycle",
        "underlay.defaults.releases",
        "underlay.decision.decide",
        "underlay.decision.evidence",
        "underlay.decision.optimiser",
        "underlay.decision.pareto",
        "underlay.decision.results",
        "underlay.decision.scorecard",
        "underlay.decision.sensitivity",
        "underlay.report.json",
        "underlay.report.json_analysis",
        "underlay.report.json_decision",
        "underlay.report.decision_terminal",
        "underlay.report.html",
        "underlay.report.markdown",
        "underlay.report.plan",
        "underlay.report.terminal",
    ],
)
def test_submodule_all_is_honest(module: str) -> None:
    mod = importlib.import_module(module)
    for name in getattr(mod, "__all__", []):
        assert hasattr(mod, name), f"{module}.{name}"


def test_version() -> None:
    assert isinstance(underlay.__version__, str) and underlay.__version__


def test_api_docstring_example_runs() -> None:
    from pathlib import Path

    example = Path(__file__).resolve().parents[1] / "examples" / "saas-platform.yaml"
    result = underlay.compare(underlay.load_scenario(example))
    for s in result.substrates:
        assert s.kind and s.hosts > 0 and s.cost_per_month_usd > 0
