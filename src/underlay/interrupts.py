"""What a signal becomes inside underlay: :class:`Interrupted`, raised by the handlers.

Kept apart from :mod:`underlay.entry` (which starts the CLI) so that the CLI can recognise
an interruption without importing its own entry point. The behaviour is described there.
"""

from __future__ import annotations

import signal
from types import FrameType

__all__ = ["SIGNALS", "Interrupted", "install_handlers", "interruption"]

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """Raised in the main thread when SIGINT or SIGTERM arrives."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.exit_code = 128 + signum


_taken: list[int] = []


def _on_signal(signum: int, frame: FrameType | None) -> None:
    if _taken:
        return  # the first one's cleanup is under way: let it finish
    _taken.append(signum)
    raise Interrupted(signum)


def install_handlers() -> None:
    """Make SIGINT and SIGTERM raise :class:`Interrupted` (the first one only)."""
    for signum in SIGNALS:
        signal.signal(signum, _on_signal)


def interruption(exc: BaseException) -> Interrupted | None:
    """The signal that ``exc`` is the consequence of, if any.

    A C extension whose initialisation is interrupted (SciPy's HiGHS, say) turns the
    :class:`Interrupted` into an ``ImportError: initialization failed`` chained to it; other
    code may turn it into something else and drop the chain. Either way, once a signal has
    been taken, the exception that ends the run is that signal's doing.
    """
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        if isinstance(link, Interrupted):
            return link
        seen.add(id(link))
        link = link.__cause__ or link.__context__
    if _taken and not isinstance(exc, SystemExit):
        return Interrupted(_taken[0])
    return None
