"""Cross-chain V2 arbitrage: exact round trips, costs, size search, events."""
from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

from libs.common.clock import TestClock
from libs.common.enums import ChainId, OrderSide, RouteType
from libs.common.events.market import PoolStateUpdated
from libs.common.events.opportunity import ArbitrageOpportunityDetected
from services.scanner.domain.crosschain import (
    SECONDS_PER_YEAR,
    BridgeRoute,
    ChainCosts,
    CrossChainArbitrage,
    CrossChainConfig,
    RoundTripPricer,
)
from services.scanner.domain.tokens import TokenRegistry

D = Decimal
E18, E6 = 10**18, 10**6
WETH_ARB = "0x82aF49447D8a07e3bd95BD0d56f35241523fBab1"
USDC_ARB = "0xaf88d065e77c8cC2239327C5EDb3A432268e5831"
WSTETH_ARB = "0x5979D7b546E38E414F7E9822514be443A4800529"
WETH_BASE = "0x4200000000000000000000000000000000000006"
USDBC_BASE = "0xd9aAEc86B65D86f6A7B5B1b0c42FFA531710b6CA"  # bridged USDC: same asset
USDC_BSC = "0x8AC76a51cc950d9822D68b83fE1Ad97B32Cd580d"  # 18 decimals
ETH_BSC = "0x2170Ed0880ac9A755fd29B2688956BD959F933F8"


def arb_pool(weth: int = 100 * E18, usdc: int = 200_000 * E6, **kw: Any) -> PoolStateUpdated:
    base: dict[str, Any] = dict(
        ts_event=1_000_000_000, chain_id=ChainId.ARBITRUM,
        pool_address="0x00000000000000000000000000000000000000A1", token0=WETH_ARB,
        token1=USDC_ARB, symbol0="WETH", symbol1="USDC", decimals0=18, decimals1=6,
        reserve0=weth, reserve1=usdc, fee_bps=30, block_number=100)
    return PoolStateUpdated(**(base | kw))


def base_pool(weth: int = 100 * E18, usdc: int = 210_000 * E6, **kw: Any) -> PoolStateUpdated:
    base: dict[str, Any] = dict(
        ts_event=1_500_000_000, chain_id=ChainId.BASE,
        pool_address="0x00000000000000000000000000000000000000B1", token0=WETH_BASE,
        token1=USDBC_BASE, symbol0="WETH", symbol1="USDbC", decimals0=18, decimals1=6,
        reserve0=weth, reserve1=usdc, fee_bps=30, block_number=200)
    return PoolStateUpdated(**(base | kw))


def costs(gwei: str, block_ms: int) -> ChainCosts:
    return ChainCosts(gas_units_per_swap=150_000, gas_price_gwei=D(gwei),
                      native_price={"USDC": D(2000)}, block_time_ns=block_ms * 1_000_000)


def config(**kw: Any) -> CrossChainConfig:
    base: dict[str, Any] = dict(
        chains={ChainId.ARBITRUM: costs("0.01", 250), ChainId.BASE: costs("0.005", 2000),
                ChainId.BSC: ChainCosts(150_000, D(1), {"USDC": D(600)}, 3_000_000_000)},
        bridges={"ETH": BridgeRoute(fee_fixed=D("0.001"), fee_rate=D("0.0005"),
                                    time_s=D(600), gas_units=100_000)},
        sigma_annual={"ETH": D("0.6")})
    return CrossChainConfig(**(base | kw))


def scanner(**kw: Any) -> CrossChainArbitrage:
    return CrossChainArbitrage(TestClock(5_000_000_000), TokenRegistry.default(), config(**kw))


# gas: Arbitrum (150k swap + 100k bridge) * 0.01 gwei * 2000 + Base 150k * 0.005 gwei * 2000
GAS = Fraction(250_000 * 2000, 10**11) + Fraction(150_000 * 2000 * 5, 10**12)
RISK_PER_QUOTE = 2 * Fraction(D("0.6")) * Fraction(math.sqrt(600 / SECONDS_PER_YEAR))


def pricer_arb_to_base(sc: CrossChainArbitrage) -> RoundTripPricer:
    sc.on_pool(arb_pool())
    sc.on_pool(base_pool())
    pricer = sc.pricer_between((ChainId.ARBITRUM, arb_pool().pool_address),
                               (ChainId.BASE, base_pool().pool_address))
    assert pricer is not None
    return pricer


def test_round_trip_matches_hand_computed_v2_integers() -> None:
    trip = pricer_arb_to_base(scanner()).price(1_000 * E6)
    # A: 1e9 * 9970 * 100e18 // (200_000e6 * 10_000 + 1e9 * 9970)
    assert trip.bought == 496_027_303_890_107_812
    # bridge: (y - 0.001e18) * 9995 // 10_000
    assert trip.bridged == (496_027_303_890_107_812 - 10**15) * 9995 // 10_000
    assert trip.bridged == 494_779_790_238_162_758
    # B: z * 9970 * 210_000e6 // (100e18 * 10_000 + z * 9970)
    assert trip.amount_out == 1_030_835_382
    assert trip.out_without_bridge_fee == 1_033_421_690
    assert trip.bridge_fee == Fraction(1_033_421_690 - 1_030_835_382, E6)
    assert GAS == Fraction(65, 10_000)  # 0.005 + 0.0015 USDC
    assert trip.gas == GAS
    assert trip.risk == RISK_PER_QUOTE * 1000
    assert trip.net == Fraction(1_030_835_382, E6) - 1000 - GAS - RISK_PER_QUOTE * 1000


def test_event_carries_both_chains_costs_and_consistent_pnl() -> None:
    sc = scanner()
    assert sc.on_pool(arb_pool()) == []  # nothing to compare with yet
    opps = sc.on_pool(base_pool())
    assert len(opps) == 1  # only Arbitrum -> Base makes money before costs
    opp = opps[0]
    buy, sell = opp.legs
    assert opp.route is RouteType.CROSS_CHAIN and (opp.base, opp.quote) == ("ETH", "USDC")
    assert (buy.side, buy.chain_id, buy.instrument_id) == (
        OrderSide.BUY, 42161, "WETH/USDC.DEX_ARBITRUM")
    assert (sell.side, sell.chain_id, sell.instrument_id) == (
        OrderSide.SELL, 8453, "WETH/USDbC.DEX_BASE")
    assert (buy.book_sequence, sell.book_sequence) == (100, 200)
    assert buy.best_price == D(2000) and sell.best_price == D(2100)
    assert opp.net_pnl == opp.gross_pnl - opp.fees - opp.transfer_cost
    assert opp.net_pnl > 0
    assert opp.ttl_ns == 250_000_000  # one block of the faster chain
    assert opp.ts_event == 1_500_000_000 and opp.oldest_quote_age_ns == 500_000_000
    # recompute from the legs: the trip at the chosen size
    trip = pricer_arb_to_base(scanner()).price(int(opp.notional * E6))
    assert opp.quantity == buy.quantity == Decimal(trip.bought) / E18
    assert sell.quantity == Decimal(trip.bridged) / E18
    expected = trip.net
    assert abs(Fraction(opp.net_pnl) - expected) < Fraction(1, 10**8)


def test_event_round_trips_through_json() -> None:
    sc = scanner()
    sc.on_pool(arb_pool())
    opp = sc.on_pool(base_pool())[0]
    again = ArbitrageOpportunityDetected.model_validate_json(opp.model_dump_json())
    assert again == opp
    assert again.legs[0].chain_id == 42161 and again.transfer_cost == opp.transfer_cost
    assert opp.ts_init == 5_000_000_000  # from the injected clock
    # a redelivered pool update names the same opportunity (downstream dedupes on it)
    assert sc.on_pool(base_pool())[0].opportunity_id == opp.opportunity_id


def test_gas_and_bridge_kill_the_edge_but_the_near_miss_is_reported() -> None:
    expensive = {ChainId.ARBITRUM: costs("50", 250), ChainId.BASE: costs("50", 2000)}
    bridge = {"ETH": BridgeRoute(fee_fixed=D("0.05"), fee_rate=D("0.001"), time_s=D(1200))}
    sc = scanner(chains=expensive, bridges=bridge)
    sc.on_pool(arb_pool(usdc=204_000 * E6))
    (opp,) = sc.on_pool(base_pool())
    # gas alone: 2 * 150k * 50 gwei * 2000 = 30 USDC
    assert opp.net_pnl < 0 < opp.gross_pnl - opp.fees
    assert opp.transfer_cost > 30
    assert opp.net_pnl == opp.gross_pnl - opp.fees - opp.transfer_cost


def test_no_event_when_pools_agree_within_their_fees() -> None:
    sc = scanner()
    sc.on_pool(arb_pool())
    assert sc.on_pool(base_pool(usdc=201_000 * E6)) == []  # 0.5% apart < 2 x 0.3% fees


def test_best_size_beats_every_size_on_a_grid() -> None:
    pricer = pricer_arb_to_base(scanner())
    max_in = 60_000 * E6
    best = pricer.best(max_in)
    assert best is not None and best.net > 0
    grid = [max(1, max_in * i // 400) for i in range(401)]
    grid_best = max(grid, key=lambda x: pricer.price(x).net)
    assert best.net >= pricer.price(grid_best).net
    step = max_in // 400
    assert abs(best.amount_in - grid_best) <= step
    # a local check around the optimum: neighbours at +-1 unit and +-1 USDC are not better
    for dx in (-E6, -1, 1, E6):
        assert pricer.price(best.amount_in + dx).net <= best.net


def test_best_size_matches_the_closed_form_for_two_v2_pools() -> None:
    # No fixed bridge fee: out(x) = A x / (B + C x); net' = 0 at x* = (sqrt(A B / m) - B) / C
    bridges = {"ETH": BridgeRoute(fee_fixed=D(0), fee_rate=D("0.0005"), time_s=D(600))}
    pricer = pricer_arb_to_base(scanner(bridges=bridges))
    g, rho = 0.997, 0.9995
    r1i, r1o, r2i, r2o = 200_000e6, 100e18, 100e18, 210_000e6
    a, b, c = g * g * rho * r1o * r2o, r1i * r2i, g * (r2i + g * rho * r1o)
    m = 1 + float(RISK_PER_QUOTE)
    x_star = (math.sqrt(a * b / m) - b) / c
    best = pricer.best(60_000 * E6)
    assert best is not None
    # The top is flat and the V2 floors add +-1 raw unit of noise: the size agrees to 1e-4
    # and the net to one raw USDC unit.
    assert abs(best.amount_in - x_star) / x_star < 1e-4
    assert best.net >= pricer.price(round(x_star)).net - Fraction(1, E6)


def test_wsteth_pool_matches_weth_pool_through_the_given_rate() -> None:
    pool = arb_pool(token0=WSTETH_ARB, symbol0="wstETH", usdc=240_000 * E6)  # 2400/wstETH
    no_rate = scanner()
    no_rate.on_pool(pool)
    assert no_rate.on_pool(base_pool()) == []  # the LST rate is never assumed
    assert no_rate.stats["conversion_refused"] == 2
    sc = scanner()
    sc.set_lst_rate(ChainId.ARBITRUM, WSTETH_ARB, Fraction(6, 5))  # 2400 / 1.2 = 2000 per ETH
    sc.on_pool(pool)
    (opp,) = sc.on_pool(base_pool())
    assert opp.legs[0].instrument_id == "wstETH/USDC.DEX_ARBITRUM"
    bought = int(opp.legs[0].quantity * E18)
    after_bridge_fee = (bought - 10**15) * 9995 // 10_000
    assert opp.legs[1].quantity == Decimal(after_bridge_fee * 6 // 5) / E18


def test_decimals_are_rescaled_between_chains() -> None:
    bsc = PoolStateUpdated(
        ts_event=1, chain_id=ChainId.BSC, pool_address="0x00000000000000000000000000000000000000C1",
        token0=ETH_BSC, token1=USDC_BSC, symbol0="ETH", symbol1="USDC", decimals0=18,
        decimals1=18, reserve0=100 * E18, reserve1=210_000 * E18, fee_bps=25, block_number=7)
    sc = scanner()
    sc.on_pool(arb_pool())
    (opp,) = sc.on_pool(bsc)
    assert opp.legs[1].chain_id == 56 and opp.legs[1].best_price == D(2100)
    assert opp.net_pnl == opp.gross_pnl - opp.fees - opp.transfer_cost and opp.net_pnl > 0


def test_unknown_tokens_mismatched_decimals_and_stale_blocks_are_skipped() -> None:
    sc = scanner()
    assert sc.on_pool(arb_pool(token1="0x0000000000000000000000000000000000000001")) == []
    assert sc.on_pool(arb_pool(decimals1=18)) == []
    sc.on_pool(arb_pool(block_number=100))
    assert sc.on_pool(arb_pool(block_number=99, usdc=1 * E6)) == []
    assert sc.stats == {"unknown_token": 1, "decimals_mismatch": 1, "stale_block": 1}
    assert [p.reserve1 for p in sc.pools()] == [200_000 * E6]


def test_unconfigured_chain_or_asset_is_skipped() -> None:
    sc = scanner(sigma_annual={})
    sc.on_pool(arb_pool())
    assert sc.on_pool(base_pool()) == []
    assert sc.stats["not_configured"] == 2
