"""How the reports write a figure: one rule per unit, shared by every writer.

Money is written by :func:`usd` only: whole dollars with thousands separators
(``$2,673``), or with ``digits`` for small amounts (``$0.0123`` per pod-hour); in a table
whose unit already says "USD" the sign is left out (``symbol=False``), so a column reads
``2,673`` under ``cost, USD / month``. Percentages, cores and GiB likewise have one
function each.
"""

from __future__ import annotations

__all__ = ["cores", "gib", "pct", "share", "usd"]


def usd(x: float, *, digits: int = 0, symbol: bool = True) -> str:
    """``x`` US dollars: ``$2,673`` (``digits`` after the point; no ``$`` with
    ``symbol=False``, for a column whose unit says USD)."""
    return f"{'$' if symbol else ''}{x:,.{digits}f}"


def pct(x: float, digits: int = 1) -> str:
    """``x`` per cent (already ×100): ``12.5%``."""
    return f"{x:.{digits}f}%"


def share(part: float, whole: float) -> str:
    """``part`` as a whole per cent of ``whole`` (``–`` when ``whole`` is 0)."""
    return f"{100 * part / whole:.0f}%" if whole else "–"


def cores(milli: float) -> str:
    """Millicores as cores: one decimal below ten cores, whole cores above."""
    return f"{milli / 1000:,.0f}" if milli >= 10_000 else f"{milli / 1000:,.1f}"


def gib(mib: float) -> str:
    """MiB as whole GiB."""
    return f"{mib / 1024:,.0f}"
