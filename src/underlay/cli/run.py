"""The run flow the four scenario verbs share (``compare``, ``simulate``, ``analyse``,
``recommend``): check the options, load the scenario, run the stages, decide, render.

Every option is checked before a stage runs, and every file to be written before the
scenario is placed: a typo costs a second, not minutes of placement. A big run on a
terminal shows a progress bar on stderr (placing, simulating, analysing); JSON, a pipe or
a small run shows none. Any :class:`~underlay.errors.UnderlayError` becomes one
``Error:`` line and its exit code (``output.fail``).
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING, Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from underlay.cli.output import WIDTHS, err, fail
from underlay.cli.render import render
from underlay.cli.requests import RunOptions, RunResults
from underlay.errors import InputError, ScenarioError, UnderlayError
from underlay.files import refuse_overwrite
from underlay.model.loading import load_scenario
from underlay.model.scenario import MAX_SEED, Scenario
from underlay.model.traces import trace_workloads
from underlay.pipeline import SECTIONS, Analysis, Comparison, Simulation, total_pods
from underlay.pipeline import analyse as run_analyse
from underlay.pipeline import compare as run_compare
from underlay.pipeline import simulate as run_simulate

if TYPE_CHECKING:
    from underlay.decision.results import Decision

__all__ = ["RunOptions", "RunResults", "run"]

# A run this big (pods, or pods × simulated steps) shows a progress bar on a terminal.
_PROGRESS_FROM_PODS = 50_000
_PROGRESS_FROM_POD_STEPS = 50_000_000


def run(opts: RunOptions) -> None:
    """Check ``opts``, run the stages, render the results (exit 2 on bad input)."""
    try:
        results = _results(opts)
    except UnderlayError as exc:
        raise fail(exc) from None
    render(opts, results)


def _results(opts: RunOptions) -> RunResults:
    _check_numbers(opts)
    sc = load_scenario(opts.path, allow_paths=opts.allow_paths)
    # The scenario (and the imports) live until the process exits: keep them out of
    # the cyclic collector's full passes, which otherwise rescan them during placement
    # (0.14 s of a 1M-pod placement; benchmarks/README.md).
    gc.freeze()
    _check_strategy(opts)
    _check_targets(opts, sc)
    from underlay.decision.decide import parse_weights

    try:
        weights = parse_weights(list(opts.weights), sc.weights.as_dict())
    except ValueError as exc:
        raise InputError(f"--weight: {exc}") from None
    unknown = [s for s in opts.sections if s not in SECTIONS]
    if unknown:
        raise InputError(f"--section: unknown {unknown[0]!r} (known: {', '.join(SECTIONS)})")
    if opts.seed is not None:
        sc = sc.model_copy(
            update={"simulation": sc.simulation.model_copy(update={"seed": opts.seed})}
        ).with_base_dir(sc.base_dir)
    try:
        comparison, simulation, analysis = _stages(sc, opts)
        decision = None
        if opts.decide and analysis is not None:
            from underlay.decision.decide import decide

            decision = decide(
                comparison, simulation, analysis, weights=weights, require_plan=opts.recommend
            )
            if opts.recommend:
                decision = _measure_plan(opts, comparison, simulation, analysis, decision)
    except ScenarioError as exc:  # found after loading: name the file like load errors
        if not str(exc).startswith(str(opts.path)):
            raise ScenarioError(f"{opts.path}: {exc}") from None
        raise
    return RunResults(sc, comparison, simulation, analysis, decision)


def _measure_plan(
    opts: RunOptions,
    comparison: Comparison,
    simulation: Simulation | None,
    analysis: Analysis,
    decision: Decision,
) -> Decision:
    """``recommend``: the plan placed and replayed as one fleet (a line on a terminal
    per round, as each round places the whole fleet again)."""
    from underlay.plan_loop import MAX_ROUNDS, measure_plan

    def on_round(k: int) -> None:
        if not opts.as_json and err.is_terminal:
            err.print(f"[dim]measuring the plan as one fleet (round {k})…[/]")

    return measure_plan(
        comparison,
        simulation,
        analysis,
        decision,
        trials=opts.trials,
        max_rounds=opts.rounds or MAX_ROUNDS,
        on_round=on_round,
    )


def _check_numbers(opts: RunOptions) -> None:
    """Out-of-range numeric options, refused before anything is read (exit 2, one line)."""
    if opts.width is not None and not WIDTHS[0] <= opts.width <= WIDTHS[1]:
        raise InputError(
            f"--width: must be from {WIDTHS[0]} to {WIDTHS[1]:,} columns, got {opts.width}"
        )
    if opts.seed is not None and not 0 <= opts.seed <= MAX_SEED:
        raise InputError(
            f"--seed: must be from 0 to {MAX_SEED:,} (as in the scenario), got {opts.seed}"
        )
    if opts.trials is not None and not 1 <= opts.trials <= 100_000:
        raise InputError(f"--trials: must be from 1 to 100,000, got {opts.trials}")
    if opts.rounds is not None and not 1 <= opts.rounds <= 50:
        raise InputError(f"--rounds: must be from 1 to 50, got {opts.rounds}")
    from underlay.simulation.partition_workers import check_workers

    check_workers(opts.workers)


def _check_strategy(opts: RunOptions) -> None:
    if opts.strategy is not None:
        from underlay.placement.strategies import STRATEGIES

        if opts.strategy not in STRATEGIES:
            raise InputError(
                f"--strategy: unknown {opts.strategy!r} (known: {', '.join(STRATEGIES)})"
            )


def _check_targets(opts: RunOptions, sc: Scenario) -> None:
    """The files to write: none may replace the scenario or a trace it reads, each folder
    must exist."""
    inputs = [("scenario", opts.path)]
    inputs += [("trace", path) for path in dict.fromkeys(p for _, _, p in trace_workloads(sc))]
    targets = {
        "--output": opts.output,
        "--report": opts.report,
        "--markdown": opts.markdown,
        "--csv": opts.csv,
        "--plan": opts.plan,
        "--db": opts.db,
    }
    for flag, target in targets.items():
        if target is None:
            continue
        refuse_overwrite(flag, target, inputs)
        if not target.parent.is_dir():
            # Say so now, not after minutes of placement and simulation.
            raise InputError(
                f"{flag} {target}: folder {target.parent} does not exist; create it "
                "or write elsewhere"
            )


def _stages(
    sc: Scenario, opts: RunOptions
) -> tuple[Comparison, Simulation | None, Analysis | None]:
    """Placement, the simulation if asked, the analyses asked; with a progress bar on a
    terminal when the run is big."""
    pods = total_pods(sc)
    big = pods >= _PROGRESS_FROM_PODS or (
        opts.simulate and pods * sc.simulation.steps >= _PROGRESS_FROM_POD_STEPS
    )
    if not big or opts.as_json or not err.is_terminal:
        comparison = run_compare(sc, substrates=opts.substrates, strategy=opts.strategy)
        simulation = (
            run_simulate(sc, comparison=comparison, workers=opts.workers, ray=opts.ray)
            if opts.simulate
            else None
        )
        return comparison, simulation, _analyses(opts, comparison, simulation)
    return _stages_with_progress(sc, opts, pods)


def _analyses(
    opts: RunOptions, comparison: Comparison, simulation: Simulation | None, **kw: Any
) -> Analysis | None:
    if not opts.sections:
        return None
    return run_analyse(
        comparison, simulation, sections=opts.sections, trials=opts.trials, seed=opts.seed, **kw
    )


def _stages_with_progress(
    sc: Scenario, opts: RunOptions, pods: int
) -> tuple[Comparison, Simulation | None, Analysis | None]:
    kinds = opts.substrates or sc.substrate_labels
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        placing = bar.add_task("placing", total=pods * len(kinds))
        comparison = run_compare(
            sc,
            substrates=opts.substrates,
            strategy=opts.strategy,
            on_substrate=lambda k: bar.update(placing, description=f"placing on {k}"),
            on_pods=lambda n: bar.advance(placing, n),
        )
        simulation = None
        if opts.simulate:
            steps = bar.add_task("simulating", total=sc.simulation.steps * len(kinds))
            simulation = run_simulate(
                sc,
                comparison=comparison,
                on_substrate=lambda k: bar.update(steps, description=f"simulating {k}"),
                on_steps=lambda n: bar.advance(steps, n),
                workers=opts.workers,
                ray=opts.ray,
            )
        analysing = bar.add_task("analysing", total=len(opts.sections) * len(kinds))

        def on_step(what: str) -> None:
            bar.update(analysing, description=f"analysing {what}")
            bar.advance(analysing, 1)

        return comparison, simulation, _analyses(opts, comparison, simulation, on_step=on_step)
