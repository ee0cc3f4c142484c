"""``python -m underlay``: the same command line as ``underlay``."""

from underlay.cli import main

main()
