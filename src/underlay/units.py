"""How underlay writes a figure for people: one rule per unit, for every stage.

The decision writes figures into its reasons and constraint messages, and the reports
write them into every table; both use these functions, so a dollar amount or a latency
reads the same wherever it appears.

- Money (:func:`usd`): whole dollars with thousands separators from $100 (``$2,673``)
  and for nothing (``$0``), cents between (``$35.00``), or ``digits`` for a unit price (``$0.0123`` per pod-hour); in
  a table whose unit already says "USD" the sign is left out (``symbol=False``).
- A multiple of a baseline (:func:`times`): the figure then the sign, ``5.6×`` (latency
  against an idle host, a packing ratio).
- Percentages (:func:`pct`, :func:`share`), cores (:func:`cores`) and GiB (:func:`gib`)
  have one function each.
"""

from __future__ import annotations

__all__ = ["cores", "gib", "pct", "share", "times", "usd"]


def usd(x: float, *, digits: int | None = None, symbol: bool = True) -> str:
    """``x`` US dollars: whole dollars from $100 (``$2,673``) and for zero, cents between
    (``$35.00``);
    ``digits`` after the point when given; no ``$`` with ``symbol=False``, for a column
    whose unit says USD."""
    if digits is None:
        digits = 0 if abs(x) >= 100 or x == 0 else 2
    return f"{'$' if symbol else ''}{x:,.{digits}f}"


def times(x: float, digits: int = 1) -> str:
    """``x`` times a baseline: ``5.6×`` (the sign after the figure, everywhere)."""
    return f"{x:,.{digits}f}×"


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
