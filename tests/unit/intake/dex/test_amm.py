"""Constant-product maths against Uniswap V2's own test cases and hand-computed ones."""
from __future__ import annotations

from fractions import Fraction

import pytest

from libs.common.amm import (
    UINT112_MAX,
    ArithmeticOverflow,
    Hop,
    InsufficientInputAmount,
    InsufficientLiquidity,
    InsufficientOutputAmount,
    InvalidPath,
    get_amount_in,
    get_amount_out,
    get_amounts_in,
    get_amounts_out,
    mid_price,
    path_mid_price,
    path_price_impact,
    price_impact,
    quote,
)

E18 = 10**18

# Uniswap/v2-core test/UniswapV2Pair.spec.ts `swapTestCases`:
# [swapAmount, token0Amount, token1Amount, expectedOutputAmount], amounts in ether units; the
# pair accepts `expectedOutputAmount` and reverts 'UniswapV2: K' for one more wei.
V2_PAIR_SWAP_CASES = [
    (1 * E18, 5 * E18, 10 * E18, 1662497915624478906),
    (1 * E18, 10 * E18, 5 * E18, 453305446940074565),
    (2 * E18, 5 * E18, 10 * E18, 2851015155847869602),
    (2 * E18, 10 * E18, 5 * E18, 831248957812239453),
    (1 * E18, 10 * E18, 10 * E18, 906610893880149131),
    (1 * E18, 100 * E18, 100 * E18, 987158034397061298),
    (1 * E18, 1000 * E18, 1000 * E18, 996006981039903216),
]


@pytest.mark.parametrize(("amount_in", "reserve_in", "reserve_out", "expected"),
                         V2_PAIR_SWAP_CASES)
def test_amount_out_matches_uniswap_v2_pair_swap_cases(amount_in: int, reserve_in: int,
                                                      reserve_out: int, expected: int) -> None:
    assert get_amount_out(amount_in, reserve_in, reserve_out) == expected


def test_amount_out_and_in_match_uniswap_v2_router_examples() -> None:
    # Uniswap/v2-periphery test/UniswapV2Router02.spec.ts: getAmountOut(2, 100, 100) == 1,
    # getAmountIn(1, 100, 100) == 2, quote(1, 100, 200) == 2, quote(2, 200, 100) == 1.
    assert get_amount_out(2, 100, 100) == 1
    assert get_amount_in(1, 100, 100) == 2
    assert quote(1, 100, 200) == 2
    assert quote(2, 200, 100) == 1
    # getAmountsOut(2, [token0, token1]) / getAmountsIn(1, ...) on a 10000/10000 pair.
    assert get_amounts_out(2, [Hop(10_000, 10_000)]) == [2, 1]
    assert get_amounts_in(1, [Hop(10_000, 10_000)]) == [2, 1]


def test_amount_in_matches_uniswap_v2_router_swap_tokens_for_exact_tokens() -> None:
    # Uniswap/v2-periphery test/UniswapV2Router01.spec.ts `swapTokensForExactTokens`: 1 token1
    # out of a 5/10 pair costs 557227237267357629 of token0.
    assert get_amount_in(1 * E18, 5 * E18, 10 * E18) == 557227237267357629


def test_reverts_where_uniswap_v2_library_reverts() -> None:
    with pytest.raises(InsufficientInputAmount):
        get_amount_out(0, 100, 100)
    with pytest.raises(InsufficientLiquidity):
        get_amount_out(2, 0, 100)
    with pytest.raises(InsufficientLiquidity):
        get_amount_out(2, 100, 0)
    with pytest.raises(InsufficientOutputAmount):
        get_amount_in(0, 100, 100)
    with pytest.raises(InsufficientLiquidity):
        get_amount_in(1, 0, 100)
    with pytest.raises(InsufficientLiquidity):
        get_amount_in(1, 100, 0)
    with pytest.raises(InsufficientInputAmount):
        quote(0, 100, 200)
    with pytest.raises(InsufficientLiquidity):
        quote(1, 0, 200)
    with pytest.raises(InvalidPath):
        get_amounts_out(2, [])
    with pytest.raises(InvalidPath):
        get_amounts_in(1, [])


def test_multi_hop_matches_uniswap_v2_sdk_trade_examples() -> None:
    # Uniswap/v2-sdk src/entities/trade.test.ts: pair_0_1 = 1000/1000, pair_1_2 = 1200/1000,
    # pair_0_2 = 1000/1100. 100 of t0 buys 69 t2 via t1 and 99 t2 direct; 100 t2 costs 156 t0
    # via t1 and 101 t0 direct.
    via_t1 = [Hop(1000, 1000), Hop(1200, 1000)]
    assert get_amounts_out(100, via_t1) == [100, 90, 69]
    assert get_amounts_in(100, via_t1)[0] == 156
    assert get_amounts_out(100, [Hop(1000, 1100)])[-1] == 99
    assert get_amounts_in(100, [Hop(1000, 1100)])[0] == 101


def test_price_impact_of_the_sdk_two_hop_trade_is_17_2_percent() -> None:
    # mid = (1000/1000) * (1000/1200) = 5/6; 100 in is worth 250/3 at mid; 69 out.
    # impact = (250/3 - 69) / (250/3) = 43/250 = 17.2% (the v2 SDK reports "17.2").
    assert path_mid_price([Hop(1000, 1000), Hop(1200, 1000)]) == Fraction(5, 6)
    assert path_price_impact(100, [Hop(1000, 1000), Hop(1200, 1000)]) == Fraction(43, 250)


def test_price_impact_of_a_tiny_swap_is_the_fee() -> None:
    # 1e9 into 1e24/1e24 at 30 bps: out = floor(1e9*9970*1e24 / (1e28 + 9.97e12)) = 996999999,
    # so impact = (1e9 - 996999999) / 1e9 = 3000001 / 1e9: the 0.3% fee and one wei of floor.
    assert get_amount_out(10**9, 10**24, 10**24) == 996_999_999
    assert price_impact(10**9, 10**24, 10**24) == Fraction(3_000_001, 10**9)
    assert mid_price(1000, 3000) == 3


def test_fee_in_bps_generalises_v2_exactly() -> None:
    # 0 bps: 100 * 1000 // (1000 + 100) = 90.
    assert get_amount_out(100, 1000, 1000, fee_bps=0) == 90
    # 25 bps (PancakeSwap V2's 9975/10000): 1e18*9975 * 10e18 // (5e18*10000 + 1e18*9975)
    # = 9.975e40 // 5.9975e22 = 1663192997082117548 (V2's 30 bps gives 1662497915624478906).
    assert get_amount_out(E18, 5 * E18, 10 * E18, fee_bps=25) == 1663192997082117548
    # Exactly V2's 997/1000 formula at 30 bps, on a fixed grid from 1 wei to uint112 reserves.
    grid = [1, 2, 3, 7, 997, 1000, 10**6, 10**18, 123_456_789_012_345_678_901, UINT112_MAX]
    for amount in grid:
        for r_in in grid:
            for r_out in grid:
                v2 = amount * 997 * r_out // (r_in * 1000 + amount * 997)
                assert get_amount_out(amount, r_in, r_out) == v2, (amount, r_in, r_out)
                if amount < r_out:
                    v2_in = r_in * amount * 1000 // ((r_out - amount) * 997) + 1
                    assert get_amount_in(amount, r_in, r_out) == v2_in, (amount, r_in, r_out)


def test_amount_in_always_buys_at_least_the_amount_out() -> None:
    for r_in, r_out in [(1000, 1000), (5 * E18, 10 * E18), (3 * 10**12, 1000 * E18)]:
        for want in [1, 2, 10, r_out // 3, r_out // 2, r_out - 1]:
            for fee in (0, 25, 30, 100):
                paid = get_amount_in(want, r_in, r_out, fee)
                assert get_amount_out(paid, r_in, r_out, fee) >= want


def test_output_never_drains_the_pool_and_amount_in_refuses_to() -> None:
    assert get_amount_out(10**40, 1000, 1000) == 999  # asymptotic: never the whole reserve
    with pytest.raises(InsufficientLiquidity):
        get_amount_in(1000, 1000, 1000)
    with pytest.raises(InsufficientLiquidity):
        get_amount_in(1001, 1000, 1000)


def test_overflow_refused_like_the_evm() -> None:
    # 2**200 * 9970 * 2**100 > 2**256 - 1: the contract's checked multiply reverts.
    with pytest.raises(ArithmeticOverflow):
        get_amount_out(2**200, 2**100, 2**100)
    with pytest.raises(ArithmeticOverflow):
        get_amount_out(2**256, 1, 1)


def test_bad_argument_types_and_ranges_are_rejected() -> None:
    with pytest.raises(TypeError):
        get_amount_out(1.5, 100, 100)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        get_amount_out(True, 100, 100)
    with pytest.raises(ValueError):
        get_amount_out(-1, 100, 100)
    with pytest.raises(ValueError):
        get_amount_out(1, 100, 100, fee_bps=10_000)
    with pytest.raises(ValueError):
        get_amount_out(1, 100, 100, fee_bps=-1)
