"""``python -m underlay.cli``: the command line with its signal handling, as ``underlay``."""

from underlay.cli import main
from underlay.entry import install_handlers, run_guarded

install_handlers()
run_guarded(main)
