"""The architecture, kept honest: every stage imports only itself and earlier stages.

underlay is a pipeline, and its folders are its stages, in this order::

    base        errors.py, extras.py, files.py, interrupts.py, quiet.py, units.py, version.py: what every
                stage may use
    model       model/, defaults/, importers/: the user's files read into typed models
                (importers are the input edge: they turn dumps and traces into scenarios
                and traces, and the scenario loader reads those traces)
    placement   placement/: pods onto nodes onto hosts
    simulation  simulation/: the placed fleet stepped through time
    analysis    analysis/: capacity, cost, energy, failures, isolation, lifecycle
    decision    decision/: scores, sensitivity, the hybrid optimiser
    report      report/: terminal, Markdown, HTML, JSON renderings of the results
    pipeline    pipeline.py, plan_loop.py: the orchestrator running the stages in order
                (and calibration/, which runs experiments and simulates their
                scenarios; and sweeps/, which runs the pipeline over a grid of points
                and commits each to the results file of report/results_db.py); it sits just below the CLI, so no stage imports it: a stage's result types live in
                that stage (``Simulation`` in simulation/results.py, ``Comparison`` and
                ``Analysis`` in analysis/results.py), and the pipeline re-exports them
    cli         cli/, entry.py, bundled.py, __main__.py, and the package
                root (``underlay/__init__.py`` re-exports the public API of every stage)

Every import counts, including those inside
functions and under ``TYPE_CHECKING``: a late import is still a dependency. Only an
``if __name__ == "__main__":`` block is skipped: it runs when the module is a script, not
when it is imported.

A second test refuses import cycles between modules, whatever their stages.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "underlay"

STAGES = (
    "base",
    "model",
    "placement",
    "simulation",
    "analysis",
    "decision",
    "report",
    "pipeline",
    "cli",
)
"""The stages, earliest first."""

FOLDERS = {
    "model": "model",
    "defaults": "model",
    "importers": "model",
    "placement": "placement",
    "simulation": "simulation",
    "analysis": "analysis",
    "decision": "decision",
    "report": "report",
    "export": "report",
    "calibration": "pipeline",
    "sweeps": "pipeline",
    "cli": "cli",
}
"""The stage of every module in each folder."""

ROOT_MODULES = {
    "errors": "base",
    "extras": "base",
    "files": "base",
    "interrupts": "base",
    "quiet": "base",
    "units": "base",
    "version": "base",
    "pipeline": "pipeline",
    "plan_loop": "pipeline",
    "cli": "cli",
    "cli_help": "cli",
    "entry": "cli",
    "bundled": "cli",
    "__main__": "cli",
    "__init__": "cli",
}
"""The stage of each module directly in ``src/underlay``."""


def module_name(path: Path) -> str:
    """``src/underlay/a/b.py`` → ``underlay.a.b``; a package's ``__init__`` is the package."""
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    """Every module under ``src/underlay``, by dotted name."""
    return {module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def stage_of(name: str) -> str | None:
    """The stage of module ``name`` (``underlay.x.y``), or None when it has none yet."""
    parts = name.split(".")[1:]
    if not parts:
        return ROOT_MODULES["__init__"]
    if len(parts) == 1 and (SRC / f"{parts[0]}.py").exists():
        return ROOT_MODULES.get(parts[0])
    return FOLDERS.get(parts[0])


def imported(path: Path, name: str) -> Iterator[tuple[int, str]]:
    """``(line, module)`` for every ``underlay`` module the file at ``path`` imports."""
    return imported_by(path.read_text(encoding="utf-8"), name, path.name == "__init__.py")


def imported_by(source: str, name: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """``(line, module)`` for every ``underlay`` module that module ``name``'s ``source``
    imports, anywhere in it (inside functions and ``if TYPE_CHECKING:`` too).

    ``from underlay.x import y`` counts as importing ``underlay.x.y`` when that is a module
    (a submodule import), else ``underlay.x``.
    """
    known = modules()
    package = name if is_package else name.rpartition(".")[0]
    for node in _walk_imported(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "underlay":
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            if base.split(".")[0] != "underlay":
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield node.lineno, sub if sub in known else base


def _walk_imported(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node of ``tree`` but those of ``if __name__ == "__main__":`` blocks."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in _SCRIPT_TESTS:
            continue
        yield node
        yield from _walk_imported(node)


_SCRIPT_TESTS = {"__name__ == '__main__'", "'__main__' == __name__"}


def import_graph() -> dict[str, set[str]]:
    """Module → the ``underlay`` modules it imports (its own package's ``__init__`` aside)."""
    known = modules()
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        targets = {t for _, t in imported(path, name) if t in known and t != name}
        graph[name] = targets
    return graph


def test_every_module_has_a_stage() -> None:
    unassigned = sorted(n for n in modules() if stage_of(n) is None)
    assert not unassigned, f"give these modules a stage in tests/test_stages.py: {unassigned}"


def test_stages_import_only_earlier_stages() -> None:
    rank = {stage: i for i, stage in enumerate(STAGES)}
    wrong: list[str] = []
    for name, path in modules().items():
        mine = stage_of(name)
        if mine is None:
            continue
        for line, target in sorted(set(imported(path, name))):
            theirs = stage_of(target)
            if theirs is not None and rank[theirs] > rank[mine]:
                rel = path.relative_to(SRC.parent)
                wrong.append(f"{rel}:{line} ({mine}) imports {target} ({theirs})")
    assert not wrong, "imports against the stage order:\n" + "\n".join(wrong)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles of ``graph``: its strongly connected components of more than one
    module (Tarjan's algorithm), each sorted, in sorted order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while (top := stack.pop()) != node:
                component.append(top)
            if component:
                found.append(sorted([*component, node]))

    for start in sorted(graph):
        if start not in index:
            visit(start)
    return sorted(found)


def test_no_import_cycles() -> None:
    graph = import_graph()
    # A package's __init__ re-exporting its modules is not a dependency of those modules.
    for name in graph:
        graph[name] = {t for t in graph[name] if not name.startswith(t + ".")}
    found = cycles(graph)
    assert not found, "modules importing each other:\n" + "\n".join(map(" ↔ ".join, found))


def test_cycles_finds_every_cycle_and_only_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"e"}, "e": {"d", "a"}, "f": {"a"}}
    assert cycles(graph) == [["a", "b", "c"], ["d", "e"]]
    assert cycles({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_the_checker_sees_late_and_relative_imports() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from underlay.report import terminal\n"
        "def f():\n"
        "    from .results import X\n"
        "    import underlay.pipeline\n"
        "if __name__ == '__main__':\n"
        "    from underlay.cli import main\n"
    )
    found = {t for _, t in imported_by(source, "underlay.simulation.engine", False)}
    assert found == {
        "underlay.report.terminal",
        "underlay.simulation.results",
        "underlay.pipeline",
    }
