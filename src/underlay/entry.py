"""The ``underlay`` command's entry point: the signal handlers first, then the CLI.

Ctrl-C (SIGINT) and SIGTERM stop underlay cleanly at any moment — while its modules load,
while it computes, while it writes a file. The handler raises :class:`Interrupted`, which
unwinds the stack like any exception: a file being written removes its temporary file on
the way (every write goes through ``underlay.files.atomic_writer``), a progress bar
clears itself, and :func:`main` ends the process with one line on stderr
(``Interrupted.`` or ``Terminated.``) and the shell's exit code for the signal, 128 + its
number: 130 for SIGINT, 143 for SIGTERM.

``Interrupted`` is a ``BaseException``, not an ``Exception`` and not a
``KeyboardInterrupt``: the CLI's "internal error" catch-all lets it through, and so does
click, which would otherwise turn Ctrl-C into ``Aborted!`` and exit 1.

The handlers are installed before anything heavy is imported: this module and the
package's ``__init__`` (which loads its public API lazily) import only the standard
library, so a Ctrl-C while NumPy, SciPy or pydantic load prints no traceback. What
remains uncovered is Python's own start-up, before this module runs.

Once a signal has been taken, later ones are held back (ignored) so that the cleanup
they would interrupt finishes; the process ends right after it. A signal that comes after
the work is done is ignored too (see :func:`main`).
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable

from underlay.interrupts import SIGNALS, Interrupted, install_handlers, interruption

__all__ = ["Interrupted", "install_handlers", "interruption", "main", "run_guarded"]

_LINE = {signal.SIGINT: "Interrupted.", signal.SIGTERM: "Terminated."}


def run_guarded(run: Callable[[], object]) -> None:
    """``run()``; if a signal interrupts it, one line on stderr and exit 128 + signal."""
    try:
        run()
    except BaseException as caught:
        exc = interruption(caught)
        if exc is None:
            raise
        try:
            sys.stderr.write(_LINE.get(signal.Signals(exc.signum), "Interrupted.") + "\n")
            sys.stderr.flush()
        except (OSError, ValueError):  # stderr closed or gone: the exit code still says it
            pass
        sys.exit(exc.exit_code)


def _cli() -> None:
    from underlay.cli import main as cli_main  # the heavy imports, under the handlers

    cli_main()


def main() -> None:
    """The console script ``underlay``: handlers, then the CLI.

    Once the CLI is done (its files written, its exit code chosen), a late signal is
    ignored: Python puts the default handlers back while it shuts down, and a signal then
    would kill the process with nothing said.
    """
    install_handlers()
    try:
        run_guarded(_cli)
    finally:
        for signum in SIGNALS:
            signal.signal(signum, signal.SIG_IGN)


if __name__ == "__main__":  # pragma: no cover
    main()
