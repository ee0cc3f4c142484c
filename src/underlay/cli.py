"""The ``underlay`` command line: thin; parses arguments, calls the pipeline, renders.

Exit codes: 0 success; 1 an underlay error; 2 bad input (a file or option); 3 the
scenario cannot be satisfied at all.
"""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from underlay.errors import InputError, UnderlayError
from underlay.model.loading import load_scenario
from underlay.model.scenario import SUBSTRATE_KINDS, Scenario
from underlay.pipeline import Comparison, total_pods
from underlay.pipeline import compare as run_compare

__all__ = ["app", "main"]

app = typer.Typer(
    help="Where should your Kubernetes clusters run: bare metal, VMs, or a mix?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
import_app = typer.Typer(
    help="Turn real inputs into a scenario file you can edit.", no_args_is_help=True
)
app.add_typer(import_app, name="import")

out = Console()
err = Console(stderr=True)
_PROGRESS_FROM_PODS = 50_000


def _fail(exc: UnderlayError) -> typer.Exit:
    err.print(f"[bold red]Error:[/bold red] {exc}", highlight=False, markup=True, soft_wrap=True)
    return typer.Exit(exc.exit_code)


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file, so no half-written file is left."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"{path}: cannot write ({exc.strerror})") from None


@app.command()
def compare(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
    as_json: Annotated[
        bool, typer.Option("--json", help="print JSON (schema: docs/json.md)")
    ] = False,
    substrate: Annotated[
        list[str] | None,
        typer.Option(
            "--substrate",
            "-s",
            help=f"only these substrates, by name or kind (repeatable): {', '.join(SUBSTRATE_KINDS)}",
        ),
    ] = None,
    strategy: Annotated[
        str | None, typer.Option(help="placement strategy, overriding the scenario's")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write to this file instead of stdout")
    ] = None,
    all_tenants: Annotated[
        bool, typer.Option("--all-tenants", help="list every tenant (default: the first 25)")
    ] = False,
) -> None:
    """Place every tenant on each substrate and compare them side by side."""
    try:
        sc = load_scenario(scenario)
        if strategy is not None:
            from underlay.placement.strategies import STRATEGIES

            if strategy not in STRATEGIES:
                raise InputError(
                    f"--strategy: unknown {strategy!r} (known: {', '.join(STRATEGIES)})"
                )
        result = _with_progress(sc, substrate, strategy, quiet=as_json)
    except UnderlayError as exc:
        raise _fail(exc) from None
    if as_json:
        from underlay.report.json import comparison_to_dict

        text = json.dumps(comparison_to_dict(result), indent=2) + "\n"
        if output:
            write_atomically(output, text)
        else:
            sys.stdout.write(text)
        return
    from underlay.report.terminal import render_comparison

    if output:
        console = Console(record=True, width=160, file=io.StringIO())
        render_comparison(result, console, max_tenants=None if all_tenants else 25)
        write_atomically(output, console.export_text())
    else:
        render_comparison(result, out, max_tenants=None if all_tenants else 25)


def _with_progress(
    sc: Scenario, substrate: list[str] | None, strategy: str | None, *, quiet: bool
) -> Comparison:
    pods = total_pods(sc)
    kinds = substrate or sc.substrate_labels
    if pods < _PROGRESS_FROM_PODS or quiet or not err.is_terminal:
        return run_compare(sc, substrates=substrate, strategy=strategy)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("placing", total=pods * len(kinds))

        def on_substrate(kind: str) -> None:
            bar.update(task, description=f"placing on {kind}")

        def on_pods(n: int) -> None:
            bar.advance(task, n)

        return run_compare(
            sc, substrates=substrate, strategy=strategy, on_substrate=on_substrate, on_pods=on_pods
        )


@app.command()
def schema() -> None:
    """Print the JSON Schema of scenario files (for editors and validators)."""
    from underlay.model.scenario import scenario_json_schema

    sys.stdout.write(json.dumps(scenario_json_schema(), indent=2) + "\n")


@app.command()
def defaults(
    as_json: Annotated[bool, typer.Option("--json", help="print as JSON instead of YAML")] = False,
) -> None:
    """Show every default underlay uses, each with its source."""
    from underlay.defaults.catalog import raw_defaults

    data = raw_defaults()
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        sys.stdout.write(yaml.safe_dump(data, sort_keys=False, width=100, allow_unicode=True))


@import_app.command()
def kubectl(
    nodes: Annotated[Path, typer.Option("--nodes", help="JSON from `kubectl get nodes -o json`")],
    pods: Annotated[Path, typer.Option("--pods", help="JSON from `kubectl get pods -A -o json`")],
    tenant_from: Annotated[
        str, typer.Option("--tenant-from", help="tenants from 'namespace' or 'label:KEY'")
    ] = "namespace",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write the scenario here, not stdout")
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(help="scenario name (default: the --output file's stem, or kubectl-import)"),
    ] = None,
) -> None:
    """Turn `kubectl get nodes/pods -o json` dumps into a scenario file to review and edit."""
    from underlay.importers.kubectl import import_kubectl

    try:
        result = import_kubectl(
            nodes, pods, tenant_from=tenant_from, name=name or (output.stem if output else None)
        )
        if output:
            write_atomically(output, result.text)
    except UnderlayError as exc:
        raise _fail(exc) from None
    if output:
        err.print(f"Wrote {output}: {result.summary}. Review its header.", highlight=False)
    else:
        sys.stdout.write(result.text)


@import_app.command()
def openb(
    nodes: Annotated[Path, typer.Option("--nodes", help="openb node list CSV")],
    pods: Annotated[Path, typer.Option("--pods", help="openb pod list CSV")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write the scenario here, not stdout")
    ] = None,
    name: Annotated[str, typer.Option(help="scenario name")] = "openb",
) -> None:
    """Turn the Alibaba GPU trace (cluster-trace-gpu-v2023, "openb") into a scenario file."""
    from underlay.importers.openb import openb_scenario, render

    try:
        data, header = openb_scenario(nodes, pods, name=name)
        text = render(data, header)
        if output:
            write_atomically(output, text)
    except UnderlayError as exc:
        raise _fail(exc) from None
    if output:
        err.print(f"Wrote {output}. Review its header.", highlight=False)
    else:
        sys.stdout.write(text)


def main() -> None:
    """Entry point: the app, with unexpected failures reported in one line, not a traceback
    (set UNDERLAY_DEBUG=1 to see it)."""
    try:
        app()
    except Exception as exc:  # a bug in underlay, not bad input: those are UnderlayError
        if os.environ.get("UNDERLAY_DEBUG"):
            raise
        err.print(
            f"[bold red]Internal error:[/bold red] {type(exc).__name__}: {exc}\n"
            "This is a bug in underlay. Rerun with UNDERLAY_DEBUG=1 for the traceback and "
            "report it with the scenario file.",
            highlight=False,
        )
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
