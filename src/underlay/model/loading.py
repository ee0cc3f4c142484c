"""Reading scenario files: YAML → validated :class:`~underlay.model.scenario.Scenario`.

Every problem becomes one :class:`~underlay.errors.ScenarioError` whose message names the
file, the line, the field path and the problem, with a "did you mean" for misspelt keys.

The file is parsed once by a strict YAML reader (:mod:`underlay.model.strict_yaml`:
duplicate keys, deep nesting, alias bombs and control characters refused, dates left as
text) into the node tree (lines of every field) and the data validated from it; a file
over :data:`MAX_SCENARIO_BYTES` is refused before it is parsed. Problems become messages
in :mod:`underlay.model.messages`.

Trace files named by workloads, and the calibration file the scenario names
(``calibration:``, :mod:`underlay.model.calibration`), are checked and read when the file is read from disk
(:func:`load_scenario`): they must exist and lie in the scenario's folder or below it,
unless the caller allows other paths (``--allow-paths``), be valid traces, and hold the
series the workloads name (:mod:`underlay.model.traces`).
"""

from __future__ import annotations

import difflib
from pathlib import Path

from pydantic import ValidationError

from underlay.errors import ScenarioError
from underlay.files import read_text
from underlay.model.messages import describe as _describe
from underlay.model.messages import error_message as _message
from underlay.model.messages import listing as _listing
from underlay.model.scenario import Hybrid, Sandboxed, Scenario, Vm
from underlay.model.strict_yaml import MAX_ALIAS_VALUES, MAX_DEPTH
from underlay.model.strict_yaml import Loc as _Loc
from underlay.model.strict_yaml import clip as _clip
from underlay.model.strict_yaml import parse_yaml as _parse_yaml

__all__ = ["MAX_ALIAS_VALUES", "MAX_DEPTH", "MAX_SCENARIO_BYTES", "load_scenario", "parse_scenario"]

MAX_SCENARIO_BYTES = 16 * 2**20
"""Largest scenario file read (16 MiB; an imported 8,000-pod trace is under 1 MiB)."""


def load_scenario(path: str | Path, *, allow_paths: bool = False) -> Scenario:
    """Read and validate the scenario file at ``path``; its trace files must lie in its
    folder or below it unless ``allow_paths``."""
    path = Path(path)
    text = read_text(path, ScenarioError, "a YAML scenario file", max_bytes=MAX_SCENARIO_BYTES)
    return parse_scenario(
        text, source=str(path), base_dir=path.resolve().parent, allow_paths=allow_paths
    )


def parse_scenario(
    text: str,
    *,
    source: str = "<scenario>",
    base_dir: Path | None = None,
    allow_paths: bool = False,
) -> Scenario:
    """Validate scenario YAML ``text``; ``source`` names it in error messages.

    With ``base_dir`` (the scenario's folder) the trace files it names are resolved from
    there and checked: they exist, and lie in ``base_dir`` or below it unless
    ``allow_paths``.
    """
    if not text.strip():
        raise ScenarioError(
            f"{source}: the file is empty; see `underlay example` or `underlay schema`"
        )
    root, data = _parse_yaml(text, source)
    if not isinstance(data, dict):
        kind = type(data).__name__ if data is not None else "nothing"
        raise ScenarioError(
            f"{source}: expected a mapping of scenario fields at the top, got {kind}"
        )
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_describe(exc, source, root)) from None
    problems = _against_defaults(scenario)
    if not problems:
        from underlay.defaults.upgrade_plans import lifecycle_problems

        problems = lifecycle_problems(scenario)
    if not problems and base_dir is not None:
        base_dir = base_dir.resolve()
        problems = _trace_problems(scenario, base_dir, allow_paths)
        if scenario.calibration:
            problem = _trace_problem(scenario.calibration, base_dir, allow_paths, "calibration")
            problems += [(("calibration",), problem)] if problem else []
        scenario.with_base_dir(base_dir)
        if not problems and scenario.calibration:  # a bad file: CalibrationError naming it
            from underlay.model.calibration import read_measured

            scenario.with_measured(read_measured(base_dir / scenario.calibration))
        if not problems:  # read the traces now: a bad one is refused before any placement
            from underlay.model.traces import read_traces, series_problems

            traces = read_traces(scenario)
            problems = series_problems(scenario, traces)
            scenario.with_traces(traces)
    if problems:
        raise ScenarioError(_listing(source, root, problems))
    return scenario


# --------------------------------------------------------------------- references


def _against_defaults(scenario: Scenario) -> list[tuple[_Loc, str]]:
    """Overrides that break the defaults, and hypervisors or runtimes that do not exist."""
    from underlay.defaults.catalog import Defaults, load_defaults, override_errors

    problems: list[tuple[_Loc, str]] = []
    for err in override_errors(scenario.overrides):
        loc = tuple(err["loc"])
        problems.append((("overrides", *loc), _message(err, loc, Defaults)))
    if problems:
        return problems
    # Strategy, score-plugin and plugin-argument names: PlacementSettings checks them.
    defaults = load_defaults(scenario.defaults_overrides)
    located: list[tuple[_Loc, object]] = []
    for i, sub in enumerate(scenario.substrates):
        if isinstance(sub, Hybrid):
            located += [
                (("substrates", i, "parts", pi, "substrate"), part.substrate)
                for pi, part in enumerate(sub.parts)
            ]
        else:
            located.append((("substrates", i), sub))
    for loc, one in located:
        if isinstance(one, Vm) and one.hypervisor not in defaults.hypervisors:
            known = sorted(defaults.hypervisors)
            problems.append(((*loc, "hypervisor"), _unknown("hypervisor", one.hypervisor, known)))
        if isinstance(one, Sandboxed) and one.runtime not in defaults.sandbox_runtimes:
            known = sorted(defaults.sandbox_runtimes)
            problems.append(((*loc, "runtime"), _unknown("runtime", one.runtime, known)))
    return problems


def _trace_problems(
    scenario: Scenario, base_dir: Path, allow_paths: bool
) -> list[tuple[_Loc, str]]:
    """Trace files that are missing, not files, or outside ``base_dir``'s tree."""
    problems: list[tuple[_Loc, str]] = []
    for ti, tenant in enumerate(scenario.tenants):
        for ci, cluster in enumerate(tenant.clusters):
            for wi, workload in enumerate(cluster.workloads):
                usage = workload.usage
                if usage.model != "trace" or not usage.trace:
                    continue
                problem = _trace_problem(usage.trace, base_dir, allow_paths)
                if problem:
                    loc = ("tenants", ti, "clusters", ci, "workloads", wi, "usage", "trace")
                    problems.append((loc, problem))
    return problems


def _trace_problem(name: str, base_dir: Path, allow_paths: bool, what: str = "trace") -> str | None:
    """Why the ``what`` file ``name`` (a trace, a calibration; relative to ``base_dir``)
    cannot be read, or None.

    Links are followed before the folder is checked, so a link to /etc is outside too.
    The message never quotes the file's content: it may not be a trace at all.
    """
    try:
        path = (base_dir / name).resolve()
        if not allow_paths and not path.is_relative_to(base_dir):
            return (
                f"{_clip(name)} is outside the scenario's folder {base_dir}; a "
                f"{'trace' if what == 'trace' else what + ' file'} must be in that folder or "
                "below it (pass --allow-paths to read it anyway)"
            )
        if not path.exists():
            return f"no such {what} file {_clip(name)} (looked for {path})"
        if not path.is_file():
            kind = "a directory" if path.is_dir() else "not a regular file"
            expected = "a trace CSV file" if what == "trace" else f"a {what} file"
            return f"{_clip(name)} is {kind}, expected {expected}"
    except (OSError, RuntimeError, ValueError) as exc:  # NUL in the name, a link loop...
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return f"{_clip(name)} is not a usable file name ({reason[:80]})"
    return None


def _unknown(what: str, name: str, known: list[str]) -> str:
    hint = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    fix = f"; did you mean {hint[0]!r}?" if hint else ""
    return f"unknown {what} {name!r}{fix} (known: {', '.join(known)}; add one under overrides)"
