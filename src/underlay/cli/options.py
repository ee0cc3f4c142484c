"""The arguments and options the scenario verbs share (``compare``, ``simulate``,
``analyse``, ``recommend``), declared once as annotated types.

Every option that takes a value names it with a metavar (``SEED``, ``FILE``, ``N``), which
``--help`` shows instead of a Python type (``help.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from underlay.cli.output import PIPE_WIDTH
from underlay.model.scenario import SUBSTRATE_KINDS

__all__ = [
    "AllTenantsOpt",
    "AllowPathsOpt",
    "CsvOpt",
    "JsonOpt",
    "MarkdownOpt",
    "OutputOpt",
    "ReplayRayOpt",
    "ReplayWorkersOpt",
    "ReportOpt",
    "ScenarioArg",
    "SectionOpt",
    "SeedOpt",
    "SubstrateOpt",
    "TrialsOpt",
    "WeightOpt",
    "WidthOpt",
]

ScenarioArg = Annotated[Path, typer.Argument(help="scenario YAML file")]
_SUBSTRATE_HELP = (
    f"only these substrates, by name or kind (repeatable): {', '.join(SUBSTRATE_KINDS)}"
)
SubstrateOpt = Annotated[
    list[str] | None, typer.Option("--substrate", "-s", metavar="NAME", help=_SUBSTRATE_HELP)
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="print JSON (its schema: underlay docs json)")
]
OutputOpt = Annotated[
    Path | None,
    typer.Option("--output", "-o", metavar="FILE", help="write to this file instead of stdout"),
]
SeedOpt = Annotated[
    int | None,
    typer.Option(
        metavar="SEED",
        help="random seed of the usage models and the failure Monte Carlo (default: the scenario's)",
    ),
]
ReplayWorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--workers",
        metavar="N",
        help="replay each substrate in N local processes, split by hosts (same figures; "
        "default: one per core when the fleet is large, else 1)",
    ),
]
ReplayRayOpt = Annotated[
    str | None,
    typer.Option(
        "--ray",
        metavar="ADDRESS",
        help="replay on the Ray cluster at ADDRESS ('local': start one here), split by hosts",
    ),
]
WidthOpt = Annotated[
    int | None,
    typer.Option(
        "--width",
        help="lay the tables out for N columns, 40 to 1,000 (default: the terminal's width; "
        f"written to a file or a pipe: $COLUMNS, else {PIPE_WIDTH})",
        metavar="N",
    ),
]
AllTenantsOpt = Annotated[
    bool, typer.Option("--all-tenants", help="list every tenant (default: the first 25)")
]
AllowPathsOpt = Annotated[
    bool,
    typer.Option(
        "--allow-paths",
        help="read trace files outside the scenario's folder (absolute paths, '..', links)",
    ),
]
WeightOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--weight",
        metavar="FACTOR=WEIGHT",
        help="weight of a factor in the verdict, FACTOR=WEIGHT (repeatable): performance, "
        "versions, isolation, sla, cost; default: the scenario's weights (1 each)",
    ),
]
ReportOpt = Annotated[
    Path | None,
    typer.Option(
        "--report", metavar="FILE", help="write a self-contained HTML report (works offline)"
    ),
]
MarkdownOpt = Annotated[
    Path | None, typer.Option("--markdown", metavar="FILE", help="write a Markdown report")
]
CsvOpt = Annotated[
    Path | None,
    typer.Option("--csv", metavar="FILE", help="write every report table as CSV, one cell a line"),
]
SectionOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--section",
        metavar="SECTION",
        help="only these analyses (repeatable): isolation, failures, lifecycle, cost",
    ),
]
TrialsOpt = Annotated[
    int | None,
    typer.Option(
        metavar="N", help="failure Monte Carlo trials, 1 to 100,000 (default: the scenario's)"
    ),
]
