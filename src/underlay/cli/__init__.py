"""The ``underlay`` command line: thin; parses arguments, calls the pipeline, renders.

Exit codes: 0 success; 1 an underlay error; 2 bad input (a file or option); 3 the
scenario cannot be satisfied at all.

Its modules, from the entry point inwards:

- ``app``: the Typer application and its ``import`` group, ``--version``, and
  :func:`main`, which reports a bug in one line;
- ``verbs``: ``compare``, ``simulate``, ``analyse``, ``recommend``, and ``schema``,
  ``defaults``, ``example``, ``docs``; ``underlay import …``: ``import_kubectl``
  (dumps), ``import_live`` (a live cluster, its Prometheus), ``import_verbs`` (openb and
  the public traces);
- ``verbs_sweep``: ``sweep`` (a grid of comparisons into a DuckDB file) and ``results``
  (what such a file holds);
- ``verbs_calibrate``: ``calibrate`` (measure this host, the model beside it, the
  calibration file);
- ``verbs_export``: ``export`` (a substrate or a plan as the manifests a team applies);
- ``options``: the options the scenario verbs share; ``help``: how ``--help`` reads;
- ``run``: the run flow of the scenario verbs (check the options, load, place, simulate,
  analyse, decide, with a progress bar when big); ``render``: which renderer the results
  go through, and where;
- ``output``: ``Error:`` lines, the console's width, files written whole.
"""

from __future__ import annotations

from underlay.cli import (  # noqa: F401  (importing them registers the verbs)
    import_kubectl,
    import_live,
    import_verbs,
    verbs,
    verbs_calibrate,
    verbs_export,
    verbs_sweep,
)
from underlay.cli.app import app, main
from underlay.cli.output import write_atomically

__all__ = ["app", "main", "write_atomically"]
