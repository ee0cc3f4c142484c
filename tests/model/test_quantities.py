"""Kubernetes quantities → integer units (millicores, MiB), table-driven."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from underlay.model.quantities import (
    cpu_to_milli,
    format_cpu,
    format_memory,
    is_negative,
    memory_to_mib,
    parse_quantity,
)


@pytest.mark.parametrize(
    ("text", "milli"),
    [
        ("500m", 500),
        ("1", 1000),
        ("1.5", 1500),  # 1.5 cores × 1000
        ("0.1", 100),
        (".5", 500),
        ("2", 2000),
        (2, 2000),  # a YAML integer
        (0.25, 250),  # a YAML float
        ("1e3", 1_000_000),  # 1 × 10³ cores = 1,000,000m
        ("1E1", 10_000),
        ("1k", 1_000_000),  # decimal kilo: 1000 cores
        ("250m", 250),
        ("0.0001", 1),  # 0.1m rounds *up* to 1m (requests never shrink)
        ("1001m", 1001),
        (" 4 ", 4000),  # surrounding blanks are tolerated
    ],
)
def test_cpu_to_milli(text: str | int | float, milli: int) -> None:
    assert cpu_to_milli(text) == milli


def test_cpu_rounds_down_for_capacities() -> None:
    # 0.0015 cores = 1.5m: a request rounds up to 2m, a capacity down to 1m.
    assert cpu_to_milli("0.0015") == 2
    assert cpu_to_milli("0.0015", round_up=False) == 1


@pytest.mark.parametrize(
    ("text", "mib"),
    [
        ("4Gi", 4096),  # 4 × 1024
        ("512Mi", 512),
        ("1Ti", 1024 * 1024),
        ("1536Mi", 1536),
        ("1.5Gi", 1536),  # 1.5 × 1024
        ("1024Ki", 1),  # 1024 KiB = 1 MiB exactly
        ("1Ki", 1),  # 1/1024 MiB rounds up to 1
        # 1G = 10⁹ bytes = 10⁹ / 2²⁰ MiB = 953.674… MiB → 954 rounded up.
        ("1G", 954),
        # 1M = 10⁶ bytes = 0.9537 MiB → 1.
        ("1M", 1),
        # 1e9 bytes is the same quantity as 1G.
        ("1e9", 954),
        # A bare number is bytes: 1048576 B = 1 MiB.
        ("1048576", 1),
        ("0", 0),
    ],
)
def test_memory_to_mib(text: str, mib: int) -> None:
    assert memory_to_mib(text) == mib


def test_memory_rounds_down_for_capacities() -> None:
    # 1G = 953.67 MiB: a capacity must not claim 954.
    assert memory_to_mib("1G", round_up=False) == 953


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("500m", Decimal("0.5")),
        ("1Ki", Decimal(1024)),
        ("1k", Decimal(1000)),
        ("1e3", Decimal(1000)),
        ("-1", Decimal(-1)),
        ("+2", Decimal(2)),
        ("1Ei", Decimal(2) ** 60),
    ],
)
def test_parse_quantity_exact(text: str, value: Decimal) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "   ",
        "abc",
        "1x",
        "4GB",  # not a Kubernetes suffix
        "4 gi",  # suffixes are case-sensitive
        "1.2.3",
        "m",
        "Gi",
        "1e",
        "--1",
        "1 000",
        "0x10",
        True,  # YAML `yes` / `true` is not a quantity
        float("nan"),
        float("inf"),
        {"value": 4},  # a mapping (a TypeError before: a traceback)
        [4],
        None,
        "\u0663",  # ARABIC-INDIC DIGIT THREE: Python's \d matches it, Kubernetes does not
        "4\u00a0",  # a no-break space is not a blank
    ],
)
def test_bad_quantities_raise_value_error(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_quantity(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("huge", ["1e9999999", "1E-99999999", "99e999999", "1" * 2000 + "e999999"])
def test_exponents_beyond_any_range_are_a_value_error(huge: str) -> None:
    # An exponent beyond the bound is a typo; before, int() or Decimal
    # raised their own errors (decimal.Overflow escaped the loader as a traceback).
    with pytest.raises(ValueError, match="out of range"):
        parse_quantity(huge)


def test_exponents_within_the_bound_still_parse() -> None:
    # The bound is 10^30 of the unit either way (test_astronomical_quantities_are_refused_quickly).
    assert parse_quantity("1e29") == Decimal(10) ** 29
    assert parse_quantity("1e-6") == Decimal("0.000001")


@pytest.mark.parametrize(
    ("value", "negative"),
    [("-1", True), (" -0", True), ("-0.0001m", True), ("0", False), ("+1", False), (-0.5, True),
     (0.0, False), (-0.0, False), (3, False)],
)  # fmt: skip
def test_is_negative_means_a_minus_sign_or_a_value_below_zero(
    value: str | float, negative: bool
) -> None:
    assert is_negative(value) is negative


def test_error_message_gives_examples() -> None:
    with pytest.raises(ValueError, match="500m"):
        cpu_to_milli("lots")


@pytest.mark.parametrize(
    ("milli", "text"),
    [
        (1500, "1.5"),
        (250, "250m"),
        (2000, "2"),
        (12_500, "12.5"),
        (0, "0"),
    ],
)
def test_format_cpu(milli: int, text: str) -> None:
    assert format_cpu(milli) == text


@pytest.mark.parametrize(
    ("mib", "text"),
    [(4096, "4Gi"), (1536, "1.5Gi"), (200, "200Mi"), (1024 * 1024, "1.0Ti")],
)
def test_format_memory(mib: int, text: str) -> None:
    assert format_memory(mib) == text


@pytest.mark.parametrize("milli", [1, 250, 999, 1000, 1500, 9_999, 64_000])
def test_cpu_format_parse_round_trip(milli: int) -> None:
    # Below 10 cores and on whole cores the formatted text parses back exactly.
    assert cpu_to_milli(format_cpu(milli)) == milli


@pytest.mark.parametrize(
    ("value", "kind"),
    [({"cpu": 1}, "a mapping"), ([1, 2], "a list"), (None, "nothing (null)")],
    ids=["mapping", "list", "null"],
)
def test_a_quantity_written_as_something_else_is_a_value_error(value: object, kind: str) -> None:
    # A ValueError (not TypeError) is what the model turns into a field error.
    with pytest.raises(ValueError, match=f"expected a quantity such as .*, got {re.escape(kind)}$"):
        parse_quantity(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    ["1e31", "1e-31", "1e999999999", "1e" + "9" * 5000, "2e30", "1" + "0" * 40, "1" * 5000, 1e300],
)
def test_astronomical_quantities_are_refused_quickly(value: str | int | float) -> None:
    # Beyond 10^30 of the unit, or an exponent beyond ±30: no million-digit number is built.
    with pytest.raises(ValueError, match="out of range"):
        parse_quantity(value)


def test_the_largest_quantities_still_parse() -> None:
    # Typos such as 64Ei (for 64Gi) still parse, so the models can ask "is the unit right?".
    assert parse_quantity("1e30") == Decimal(10) ** 30
    assert parse_quantity("64Ei") == 64 * Decimal(2) ** 60
    assert parse_quantity(str(2**63)) == Decimal(2**63)
    assert parse_quantity("1e-30") == Decimal("1e-30")


def test_messages_never_quote_a_whole_long_value() -> None:
    with pytest.raises(ValueError) as info:
        parse_quantity("x" * 100_000)
    assert len(str(info.value)) < 200
