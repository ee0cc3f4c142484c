"""``underlay calibrate``: measure this host (overheads, noisy neighbours), set the model's
prediction beside each measurement, and write the calibration file a scenario uses.

The run takes about ``--duration``; its steps go to stderr as they start. Every cgroup and
process it makes is gone when it ends, also on Ctrl-C. The tables go to stdout (or the
JSON with ``--json``); the file is written only when the run completed.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from underlay.cli.app import app
from underlay.cli.help import Command
from underlay.cli.output import console_for, err, fail, note
from underlay.errors import InputError, UnderlayError

__all__ = ["calibrate", "parse_duration"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min)?\s*$")
MIN_S, MAX_S = 5.0, 3600.0


def parse_duration(text: str) -> float:
    """``20s``, ``2m``, ``90`` (seconds) → seconds; ValueError saying the accepted form."""
    m = _DURATION.match(text)
    if m is None:
        raise ValueError(f"write seconds or minutes, e.g. 20s or 2m (got {text!r})")
    value = float(m.group(1)) * (60 if m.group(2) in ("m", "min") else 1)
    if not MIN_S <= value <= MAX_S:
        raise ValueError(f"from {MIN_S:g} s to {MAX_S / 60:g} min (got {text!r})")
    return value


@app.command(cls=Command)
def calibrate(
    duration: Annotated[
        str, typer.Option("--duration", metavar="TIME", help="how long to measure, e.g. 20s, 2m")
    ] = "60s",
    output: Annotated[
        Path,
        typer.Option("--output", "-o", metavar="FILE", help="the calibration file to write (YAML)"),
    ] = Path("calibration.yaml"),
    kernel: Annotated[
        Path | None,
        typer.Option("--kernel", metavar="FILE", help="a guest kernel, for the KVM overheads"),
    ] = None,
    initrd: Annotated[
        Path | None,
        typer.Option("--initrd", metavar="FILE", help="the guest's initrd, with --kernel"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the run as JSON")] = False,
) -> None:
    """Measure overheads and noisy neighbours here, beside the model.

    CPU, memory-bandwidth, syscall and loopback benchmarks natively and in a container
    sandbox (namespaces and a pod cgroup), and in a KVM guest when --kernel and --initrd
    are given and KVM and QEMU work; a paced latency probe alone, beside a CPU hog under
    soft shares, under a hard quota and beside a memory-bandwidth hog. Each case is then
    simulated by underlay and the prediction set beside the measurement. Writes the
    figures a scenario can use (calibration: FILE) to --output."""
    try:
        seconds = parse_duration(duration)
    except ValueError as exc:
        raise fail(InputError(f"--duration: {exc}")) from None
    for flag, path in (("--kernel", kernel), ("--initrd", initrd)):
        if path is not None and not path.is_file():
            raise fail(InputError(f"{flag} {path}: no such file"))
    if (kernel is None) != (initrd is None):
        raise fail(InputError("--kernel and --initrd go together (a guest needs both)"))
    if not output.parent.is_dir():
        raise fail(InputError(f"--output {output}: folder {output.parent} does not exist"))
    try:
        result, changes = _run(seconds, kernel, initrd, quiet=as_json)
        from underlay.calibration.file import write_calibration

        write_calibration(result, output)
    except UnderlayError as exc:
        raise fail(exc) from None
    except RuntimeError as exc:  # a workload process failed: its own words
        raise fail(UnderlayError(f"calibration: {exc}")) from None
    if as_json:
        data: dict[str, Any] = asdict(result)
        data["default_changes"] = [
            {"default": c.default, "cited": c.cited, "suggested": c.suggested, "why": c.why}
            for c in changes
        ]
        typer.echo(json.dumps(data, indent=2, allow_nan=False))
    else:
        _print(result, changes)
    note(f"Wrote the calibration to {output}: use it with `calibration: {output.name}`.")


def _run(seconds: float, kernel: Path | None, initrd: Path | None, *, quiet: bool) -> Any:
    from underlay.calibration import run_calibration
    from underlay.calibration.changes import default_changes
    from underlay.calibration.predict import compare_with_model

    def say(line: str) -> None:
        if not quiet and err.is_terminal:
            err.print(f"[dim]{line}[/]", highlight=False)

    result = run_calibration(seconds, kernel=kernel, initrd=initrd, progress=say)
    say("simulating each case with underlay's model")
    comparisons = compare_with_model(result)
    return replace(result, comparisons=comparisons), default_changes(result, comparisons)


def _figure(x: float) -> str:
    """A figure of any size, readable: ``14,012``, ``0.804``, ``-95.4``."""
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def _print(result: Any, changes: Any) -> None:
    console = console_for(None, None)
    console.print(
        f"[bold]Calibration[/bold] of {result.host} ({result.cpu_model}, {result.cores} cores, "
        f"cgroup {result.cgroup}) at {result.measured_at}, {result.duration_s:g} s",
        highlight=False,
    )
    over = Table(
        title="Overheads: best work per second of the rounds, native vs container sandbox vs "
        "KVM guest (container overhead: the median of the rounds' paired losses)"
    )
    for col in ("benchmark", "unit", "native", "container", "overhead", "vm", "overhead "):
        over.add_column(col, justify="left" if col in ("benchmark", "unit") else "right")
    for o in result.overheads:
        c, v = o.overhead_percent("container"), o.overhead_percent("vm")
        over.add_row(
            o.bench,
            o.unit,
            f"{o.native:,.1f}",
            "–" if o.container is None else f"{o.container:,.1f}",
            "–" if c is None else f"{c:+.1f}%",
            "–" if o.vm is None else f"{o.vm:,.1f}",
            "–" if v is None else f"{v:+.1f}%",
        )
    console.print(over)
    cases = Table(title="Noisy neighbours: the latency probe in each case, and the hog's cgroup")
    columns = ("case", "p50 µs", "p95 µs", "p99 µs", "work/s", "work/CPU s", "hog CPU s")
    for col in (*columns, "throttled s"):
        cases.add_column(col, justify="left" if col == "case" else "right")
    for n in result.neighbours:
        per_cpu = n.probe.work_per_cpu_second(n.duration_s)
        cases.add_row(
            n.case,
            f"{n.probe.p50_us:,.0f}",
            f"{n.probe.p95_us:,.0f}",
            f"{n.probe.p99_us:,.0f}",
            f"{n.probe.work_per_s:,.0f}",
            "–" if per_cpu is None else f"{per_cpu:,.0f}",
            "–" if n.hog_cpu_seconds is None else f"{n.hog_cpu_seconds:.2f}",
            "–" if n.hog_throttled_s is None else f"{n.hog_throttled_s:.2f}",
        )
    console.print(cases)
    model = Table(title="The model beside the measurement")
    for col in ("experiment", "figure", "predicted", "measured", "difference", "tolerance", ""):
        model.add_column(col, justify="left" if col in ("experiment", "figure", "") else "right")
    for c in result.comparisons:
        model.add_row(
            c.experiment,
            f"{c.figure} ({c.unit})",
            _figure(c.predicted),
            _figure(c.measured),
            ("+" if c.difference >= 0 else "") + _figure(c.difference),
            f"±{_figure(c.tolerance)}",
            "agrees" if c.agrees else "DIFFERS",
        )
    console.print(model)
    for f in result.figures:
        if f.measured is None:
            line = f"{f.default}: cited {f.cited:g}, not measured: {f.why_not}"
        else:
            line = f"{f.default}: cited {f.cited:g}, measured {f.measured:.3g} ({f.unit})"
        console.print(line, highlight=False, markup=False)
    for c in changes:
        console.print(f"would change: {c.why}", highlight=False, markup=False)
    for n in result.notes:
        console.print(f"note: {n}", style="yellow", highlight=False, markup=False)
