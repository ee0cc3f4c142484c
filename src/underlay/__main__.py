"""``python -m underlay``: the same command line as ``underlay``, with its signal handling."""

from underlay.entry import main

main()
