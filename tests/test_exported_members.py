"""The public API: everything in ``underlay.__all__`` exists and is exported (httpx style)."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

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


def test_every_error_of_underlay_errors_is_exported() -> None:
    # what a caller catches: each error class the errors module defines
    errors = importlib.import_module("underlay.errors")
    defined = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type)
        and issubclass(value, Exception)
        and value.__module__ == "underlay.errors"
    }
    assert defined, "underlay.errors defines no error class"
    assert defined <= set(underlay.__all__), sorted(defined - set(underlay.__all__))


def test_members_belong_to_underlay() -> None:
    for name in underlay.__all__:
        member = getattr(underlay, name)
        assert member.__module__.startswith("underlay."), (name, member.__module__)
        assert member.__doc__, f"{name} has no docstring"


def _modules() -> list[str]:
    """Every module of the package, found by walking it (``__main__`` would run the CLI)."""
    found = pkgutil.walk_packages(underlay.__path__, "underlay.")
    return sorted(m.name for m in found if m.name.rpartition(".")[2] != "__main__")


MODULES = _modules()


def test_the_walk_finds_every_module_file() -> None:
    root = Path(underlay.__file__).parent
    names = {".".join(p.relative_to(root.parent).with_suffix("").parts) for p in root.rglob("*.py")}
    files = {n.removesuffix(".__init__") for n in names if not n.endswith(".__main__")}
    assert {"underlay", *MODULES} == files


@pytest.mark.parametrize("module", MODULES)
def test_submodule_all_is_honest(module: str) -> None:
    mod = importlib.import_module(module)
    public = {n for n in vars(mod) if not n.startswith("_") and n != "annotations"}
    submodules = {n for n in public if isinstance(getattr(mod, n), type(underlay))}
    # Only a package with nothing of its own (its modules hold the names) may go without.
    assert hasattr(mod, "__all__") or public <= submodules, f"{module}: public names, no __all__"
    exported = list(getattr(mod, "__all__", []))
    assert [n for n in exported if not hasattr(mod, n)] == [], module
    assert len(set(exported)) == len(exported), module


def test_version() -> None:
    assert isinstance(underlay.__version__, str) and underlay.__version__


def test_api_docstring_example_runs() -> None:
    example = Path(__file__).resolve().parents[1] / "examples" / "saas-platform.yaml"
    result = underlay.compare(underlay.load_scenario(example))
    for s in result.substrates:
        assert s.kind and s.hosts > 0 and s.cost_per_month_usd > 0
