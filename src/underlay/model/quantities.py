"""Kubernetes resource quantities, parsed once at the edge into integer units.

underlay keeps CPU in millicores (``cpu_milli``), memory in MiB (``memory_mib``) and
GPU shares in milli-GPUs (``gpu_milli``, 1000 = one whole GPU).  Requests are rounded
*up* to the unit, capacities *down*, so rounding never lets more fit than really does.

The grammar is the one of ``k8s.io/apimachinery/pkg/api/resource`` (kubernetes.io,
"Resource units in Kubernetes"): a decimal number followed by an optional suffix —
binary ``Ki Mi Gi Ti Pi Ei``, decimal ``k M G T P E``, ``m`` (milli) or an exponent
``e3`` / ``E3``.  Whatever else a file holds where a quantity belongs (a mapping, a list,
nothing) is a ``ValueError`` that names what was found, so the loader reports it against
the field; so is an astronomical number (over 10^30 of the unit, or an exponent beyond 30).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

__all__ = [
    "POSITIVE_QUANTITY_PATTERN",
    "QUANTITY_PATTERN",
    "UNSIGNED_QUANTITY_PATTERN",
    "cpu_to_milli",
    "format_cpu",
    "format_memory",
    "is_negative",
    "memory_to_mib",
    "parse_quantity",
]

_SUFFIX: dict[str, Decimal] = {
    "": Decimal(1),
    "m": Decimal("0.001"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}
# The grammar, in pieces shared by the parser and the JSON Schema's patterns (which an
# editor runs as ECMAScript regular expressions: ASCII classes only, no Python-only syntax).
_BLANK = r"[ \t\n\r\f\v]*"
_NUMBER = r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)"
_EXPONENT = r"[eE][+-]?[0-9]+"
_SUFFIXES = r"Ki|Mi|Gi|Ti|Pi|Ei|[mkMGTPE]"
_QUANTITY = re.compile(f"{_BLANK}([+-]?{_NUMBER}){_BLANK}(?:({_EXPONENT})|({_SUFFIXES}))?{_BLANK}")
QUANTITY_PATTERN = f"^{_BLANK}[+-]?{_NUMBER}{_BLANK}(?:{_EXPONENT}|{_SUFFIXES})?{_BLANK}$"
"""What :func:`parse_quantity` accepts as text, as a JSON Schema ``pattern``."""
UNSIGNED_QUANTITY_PATTERN = f"^{_BLANK}[+]?{_NUMBER}{_BLANK}(?:{_EXPONENT}|{_SUFFIXES})?{_BLANK}$"
"""The quantities without a minus sign: those a size (CPU, memory) may be."""
_ZERO = r"(?:0+\.?0*|\.0+)"
POSITIVE_QUANTITY_PATTERN = (
    f"^(?!{_BLANK}[+]?{_ZERO}{_BLANK}(?:{_EXPONENT}|{_SUFFIXES})?{_BLANK}$)"
    + UNSIGNED_QUANTITY_PATTERN[1:]
)
"""The unsigned quantities that are not zero however written (``0``, ``+0.0m``, ``0e5``)."""
_MIB = Decimal(2) ** 20
# Far beyond anything real (Kubernetes itself stops at 2^63 ≈ 9.2e18), so plausible typos
# such as ``64Ei`` for ``64Gi`` still reach the models' "is the unit right?" checks; the
# bound only keeps ``1e999999`` or a 10,000-digit number from being built and echoed.
_MAX_EXPONENT = 30
_LIMIT = Decimal(10) ** _MAX_EXPONENT


def parse_quantity(value: str | int | float) -> Decimal:
    """Return the exact value of a Kubernetes quantity (``"500m"`` → 0.5, ``"1Ki"`` → 1024).

    Raises ``ValueError`` with a short explanation when the value is not a quantity (a
    mapping, a list, ``true``, NaN, text outside the grammar) or out of any range (``1e9999999``).
    """
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"expected a quantity such as '500m', '2' or '4Gi', got {_kind(value)}")
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"expected a finite quantity, got {value!r}")
        return _bounded(Decimal(str(value)), value)
    match = _QUANTITY.fullmatch(value)
    if match is None:
        raise ValueError(
            f"{_short(value)} is not a Kubernetes quantity "
            "(examples: '500m', '2', '1.5', '4Gi', '512Mi')"
        )
    number, exponent, suffix = match.groups()
    try:
        base = Decimal(number)
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only decimals
        raise ValueError(f"{_short(value)} is not a number") from exc
    if exponent:
        digits = exponent[1:].lstrip("+-").lstrip("0")
        if len(digits) > 2 or int(digits or 0) > _MAX_EXPONENT:
            raise ValueError(
                f"{_short(value)}: exponent out of range (at most e{_MAX_EXPONENT} either way)"
            )
        return _bounded(base * (Decimal(10) ** int(exponent[1:])), value)
    return _bounded(base * _SUFFIX[suffix or ""], value)


def _bounded(amount: Decimal, value: str | int | float) -> Decimal:
    if abs(amount) > _LIMIT:
        raise ValueError(f"{_short(value)} is out of range (at most 1e{_MAX_EXPONENT})")
    return amount


def _short(value: str | int | float) -> str:
    """``value`` quoted, cut to 40 characters: messages never carry a whole file's worth."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def is_negative(value: str | int | float) -> bool:
    """Whether a quantity that parses is below zero or written with a minus sign (``-0``)."""
    if isinstance(value, str):
        return value.strip().startswith("-")
    return value < 0


def _kind(value: object) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if value is None:
        return "nothing (null)"
    return repr(value)


def cpu_to_milli(value: str | int | float, *, round_up: bool = True) -> int:
    """CPU quantity → millicores (``"250m"`` → 250, ``"1.5"`` → 1500); requests round up."""
    milli = parse_quantity(value) * 1000
    return int(milli.to_integral_value(rounding="ROUND_CEILING" if round_up else "ROUND_FLOOR"))


def memory_to_mib(value: str | int | float, *, round_up: bool = True) -> int:
    """Memory quantity → MiB (``"4Gi"`` → 4096, ``"1G"`` → 954 rounded up); a bare number is bytes."""
    mib = parse_quantity(value) / _MIB
    return int(mib.to_integral_value(rounding="ROUND_CEILING" if round_up else "ROUND_FLOOR"))


def format_cpu(milli: float) -> str:
    """Millicores → a short human string (``1500`` → ``"1.5"``, ``250`` → ``"250m"``)."""
    if milli % 1000 == 0:
        return str(int(milli // 1000))
    if milli >= 10_000 or milli % 100 == 0:
        return f"{milli / 1000:.1f}"
    return f"{round(milli)}m"


def format_memory(mib: float) -> str:
    """MiB → a short human string (``4096`` → ``"4Gi"``, ``1536`` → ``"1.5Gi"``, ``200`` → ``"200Mi"``)."""
    if mib >= 1024 * 1024:
        return f"{mib / (1024 * 1024):.1f}Ti"
    if mib >= 1024:
        gib = mib / 1024
        return f"{gib:.0f}Gi" if gib == int(gib) else f"{gib:.1f}Gi"
    return f"{round(mib)}Mi"
