"""The ``underlay`` command line: thin; parses arguments, calls the pipeline, renders.

Exit codes: 0 success; 1 an underlay error; 2 bad input (a file or option); 3 the
scenario cannot be satisfied at all.
"""

from __future__ import annotations

from underlay.cli.verbs import app, main, write_atomically

__all__ = ["app", "main", "write_atomically"]
