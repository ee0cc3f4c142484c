"""The replay's normal draws (Box–Muller, block by block): the transform as published,
the order the module states, and the distribution of a standard normal."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from numpy.typing import NDArray
from scipy import stats

from underlay.simulation.normals import MAX_DEVIATE, PAIRS_PER_BLOCK, fill_standard_normal


def _by_hand(seed: int, n: int) -> list[float]:
    """The transform written out pair by pair, in float64 from the same float32 uniforms:
    per block of up to 2·PAIRS_PER_BLOCK values, h uniforms u then h uniforms v, the h
    values √(−2 ln(1−u))·cos(2πv), then the sine ones."""
    rng = np.random.default_rng(seed)
    out: list[float] = []
    while len(out) < n:
        m = min(2 * PAIRS_PER_BLOCK, n - len(out))
        h = (m + 1) // 2
        u = rng.random(h, dtype=np.float32)
        v = rng.random(h, dtype=np.float32)
        r = [math.sqrt(-2.0 * math.log(1.0 - float(x))) for x in u]
        out += [r[j] * math.cos(2.0 * math.pi * float(v[j])) for j in range(h)]
        out += [r[j] * math.sin(2.0 * math.pi * float(v[j])) for j in range(m - h)]
    return out


@pytest.mark.parametrize("n", [1, 2, 7, 2 * PAIRS_PER_BLOCK, 2 * PAIRS_PER_BLOCK + 3])
def test_the_values_are_the_transform_of_the_generators_uniforms(n: int) -> None:
    out = np.empty(n, np.float32)
    fill_standard_normal(np.random.default_rng(5), out)
    # float32 logarithm, square root, sine and cosine, and 2π·v rounded to float32 first:
    # up to ~7e-5 relative near the cosine's zeros (where an error in the angle counts
    # most), so 2e-5 relative plus 2e-6 absolute
    np.testing.assert_allclose(out, _by_hand(5, n), rtol=2e-5, atol=2e-6)


@given(
    rows=st.integers(0, 40),
    cols=st.integers(0, 40),
    seed=st.integers(0, 2**32 - 1),
)
@example(rows=0, cols=5, seed=0)
def test_a_table_is_filled_in_row_major_order_like_a_flat_array(
    rows: int, cols: int, seed: int
) -> None:
    table = np.full((rows, cols), np.nan, np.float32)
    flat = np.empty(rows * cols, np.float32)
    fill_standard_normal(np.random.default_rng(seed), table)
    fill_standard_normal(np.random.default_rng(seed), flat)
    np.testing.assert_array_equal(table.reshape(-1), flat)
    assert np.isfinite(table).all()
    assert (np.abs(table) <= MAX_DEVIATE * (1 + 1e-6)).all()


def test_the_same_generator_state_gives_the_same_values_and_the_stream_goes_on() -> None:
    a, b = np.empty(1000, np.float32), np.empty(1000, np.float32)
    rng = np.random.default_rng([3, 64])
    fill_standard_normal(rng, a)
    fill_standard_normal(rng, b)
    again = np.empty(1000, np.float32)
    fill_standard_normal(np.random.default_rng([3, 64]), again)
    np.testing.assert_array_equal(a, again)
    assert not np.array_equal(a, b)  # the second fill continues the stream
    # two uniforms per pair: 2 × 500 pairs, so the generator moved on by 2,000 uniforms
    expected = np.random.default_rng([3, 64])
    expected.random(2000, dtype=np.float32)
    assert rng.random() == expected.random()


def test_it_refuses_an_array_it_cannot_fill_in_place() -> None:
    with pytest.raises(ValueError, match="C-contiguous float32"):
        fill_standard_normal(np.random.default_rng(0), np.empty(4, np.float64))
    with pytest.raises(ValueError, match="C-contiguous float32"):
        fill_standard_normal(np.random.default_rng(0), np.empty((4, 4), np.float32)[:, ::2])


class _Constant:
    """Stands in for a generator: its float32 uniforms are ``u`` (the radius's), then
    ``v`` (the angle's), block after block."""

    def __init__(self, u: float, v: float) -> None:
        self.values = [u, v]
        self.calls = 0

    def random(self, *, dtype: type, out: NDArray[np.float32]) -> None:
        assert dtype is np.float32
        out.fill(self.values[self.calls % 2])
        self.calls += 1


def test_the_extreme_uniforms_give_the_largest_deviate_and_zero() -> None:
    # u = 1 − 2⁻²⁴, the largest float32 uniform: u1 = 1 − u = 2⁻²⁴ and the radius is
    # √(−2 ln 2⁻²⁴) = √(48 ln 2); with v = 0 the cosine deviate is that, the sine one 0
    top = float(np.float32(1) - np.float32(2.0**-24))
    out = np.empty(6, np.float32)
    fill_standard_normal(_Constant(top, 0.0), out)
    assert math.isclose(MAX_DEVIATE, math.sqrt(48 * math.log(2)), rel_tol=1e-6)
    np.testing.assert_allclose(out[:3], MAX_DEVIATE, rtol=1e-6)
    np.testing.assert_array_equal(out[3:], 0.0)
    # u = 0: u1 = 1 and ln 1 = 0, a radius of 0 whatever the angle
    fill_standard_normal(_Constant(0.0, 0.3), out)
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out, 0.0)


def test_two_million_draws_are_standard_normal() -> None:
    """Moments, tails and shape of 2,000,000 draws of a fixed seed against N(0, 1)."""
    n = 2_000_000
    z = np.empty(n, np.float32)
    fill_standard_normal(np.random.default_rng(2026), z)
    x = z.astype(np.float64)
    se = 1 / math.sqrt(n)
    assert abs(x.mean()) < 5 * se  # mean 0, standard error 1/√n
    assert abs(x.var() - 1) < 5 * math.sqrt(2) * se  # variance 1, s.e. √(2/n)
    assert abs(stats.skew(x)) < 5 * math.sqrt(6) * se
    assert abs(stats.kurtosis(x)) < 5 * math.sqrt(24) * se
    # P(|Z| > 3) = 2·(1 − Φ(3)) = 0.0026998: a binomial count, 5 standard errors
    p3 = 2 * stats.norm.sf(3)
    assert abs((np.abs(x) > 3).mean() - p3) < 5 * math.sqrt(p3 * (1 - p3) / n)
    assert stats.kstest(x, "norm").pvalue > 1e-3
    # the cosine and sine halves of a block are independent: correlation ~ N(0, 1/n)
    h = PAIRS_PER_BLOCK
    cos_part = x[: (n // (2 * h)) * 2 * h].reshape(-1, 2, h)[:, 0].ravel()
    sin_part = x[: (n // (2 * h)) * 2 * h].reshape(-1, 2, h)[:, 1].ravel()
    assert abs(np.corrcoef(cos_part, sin_part)[0, 1]) < 5 / math.sqrt(len(cos_part))
    assert abs(np.corrcoef(cos_part**2, sin_part**2)[0, 1]) < 5 / math.sqrt(len(cos_part))
