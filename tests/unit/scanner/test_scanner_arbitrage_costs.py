"""Two-leg arbitrage v2: lot rounding, minimums, transfer cost amortisation, freshness budget.

Every expected figure is worked out by hand in the test's comments. Fees are zero unless a
test says otherwise, so the arithmetic shows only what is being tested.
"""
from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from libs.common.clock import TestClock
from libs.common.enums import InstrumentKind
from libs.common.errors import ConfigurationError
from libs.common.events.market import InstrumentInfo, InstrumentsUpdated, OrderBookUpdated
from services.scanner.domain.arbitrage import ArbitrageConfig, CrossVenueArbitrage
from services.scanner.domain.costs import TransferCosts
from services.scanner.domain.fees import FeeRates, FeeSchedule
from services.scanner.domain.freshness import FreshnessBudget
from services.scanner.domain.vwap import floor_to_step, walk_book, walk_native

SPOT = "BTC/USDT.BINANCE"
USDM = "BTC/USDT-PERP.BINANCE_USDM"
COINM = "BTC/USD-PERP.BINANCE_COINM"
BITSTAMP = "BTC/USD.BITSTAMP"
T0 = 1_723_161_300_000_000_000
MS = 1_000_000
ZERO_FEES = FeeSchedule({v: FeeRates(D(0), D(0))
                         for v in ("BINANCE", "BINANCE_USDM", "BINANCE_COINM", "BITSTAMP")})

_MARKETS: dict[str, dict[str, Any]] = {
    SPOT: dict(venue="BINANCE", symbol="BTC/USDT", instrument_kind=InstrumentKind.SPOT,
               base="BTC", quote="USDT"),
    USDM: dict(venue="BINANCE_USDM", symbol="BTC/USDT-PERP",
               instrument_kind=InstrumentKind.LINEAR, base="BTC", quote="USDT"),
    COINM: dict(venue="BINANCE_COINM", symbol="BTC/USD-PERP",
                instrument_kind=InstrumentKind.INVERSE, base="BTC", quote="USD",
                contract_size=D(100)),
    BITSTAMP: dict(venue="BITSTAMP", symbol="BTC/USD", instrument_kind=InstrumentKind.SPOT,
                   base="BTC", quote="USD"),
}


def book(iid: str, bids: list[tuple[str, str]], asks: list[tuple[str, str]],
         ts: int = T0, seq: int = 1) -> OrderBookUpdated:
    return OrderBookUpdated(instrument_id=iid, ts_event=ts, ts_init=ts, sequence=seq,
                            bids=tuple((D(p), D(s)) for p, s in bids),
                            asks=tuple((D(p), D(s)) for p, s in asks), **_MARKETS[iid])


def info(iid: str, **kw: Any) -> InstrumentInfo:
    m = _MARKETS[iid]
    return InstrumentInfo(instrument_id=iid, venue=m["venue"], symbol=m["symbol"],
                          base=m["base"], quote=m["quote"],
                          instrument_kind=m["instrument_kind"], **kw)


def rules(*infos: InstrumentInfo) -> InstrumentsUpdated:
    return InstrumentsUpdated(ts_event=T0, venue=infos[0].venue, instruments=infos)


def scanner(target: str = "0.01", **cfg: Any) -> CrossVenueArbitrage:
    return CrossVenueArbitrage(TestClock(T0), ZERO_FEES,
                               ArbitrageConfig(target_quantity={"BTC": D(target)}, **cfg))


# ---- rounding to lots ----------------------------------------------------------------------

def test_size_is_rounded_down_to_the_spot_lot() -> None:
    scan = scanner(target="0.0125")
    scan.on_instruments(rules(info(SPOT, lot_size=D("0.001"))))
    scan.on_book(book(USDM, [("110", "1")], [("111", "1")]))
    [opp] = scan.on_book(book(SPOT, [("99", "1")], [("100", "1")]))
    # 0.0125 -> 0.012 (lot 0.001); gross = (110 - 100) x 0.012 = 0.12
    assert opp.quantity == D("0.012")
    assert [leg.quantity for leg in opp.legs] == [D("0.012"), D("0.012")]
    assert opp.gross_pnl == D("0.12")
    assert [leg.levels_used for leg in opp.legs] == [1, 1]


def test_without_rules_the_size_is_not_rounded() -> None:
    scan = scanner(target="0.0125")
    scan.on_book(book(USDM, [("110", "1")], [("111", "1")]))
    [opp] = scan.on_book(book(SPOT, [("99", "1")], [("100", "1")]))
    assert opp.quantity == D("0.0125")


def test_inverse_leg_trades_whole_contracts_and_caps_the_size() -> None:
    scan = scanner()
    scan.on_instruments(rules(info(SPOT, lot_size=D("0.00001"))))
    scan.on_instruments(rules(info(COINM)))  # no lot given: whole contracts
    scan.on_book(book(COINM, [("62000", "100")], [("62001", "100")]))
    # spot asks: 0.005 at 60000, then 60010: the buy walk takes two levels
    [opp] = scan.on_book(book(SPOT, [("59990", "1")], [("60000", "0.005"), ("60010", "1")]))
    # sell 0.01 BTC on COIN-M = 0.01 x 62000 / 100 = 6.2 contracts -> 6 whole contracts,
    # worth 6 x 100 / 62000 = 0.0096774... BTC -> spot lot 0.00001 -> 0.00967 BTC
    assert opp.quantity == D("0.00967")
    buy, sell = opp.legs
    assert sell.native_quantity == D(6)
    assert buy.native_quantity == D("0.00967")
    assert (buy.levels_used, sell.levels_used) == (2, 1)
    # buy: 0.005 x 60000 + 0.00467 x 60010 = 300 + 280.2467 = 580.2467
    # sell: 0.00967 x 62000 = 599.54; gross = 19.2933
    assert opp.notional == D("580.2467")
    assert opp.gross_pnl == D("19.2933")


def test_less_than_one_contract_is_not_executable() -> None:
    scan = scanner(target="0.001")  # 0.001 x 62000 / 100 = 0.62 contracts -> 0
    scan.on_instruments(rules(info(COINM)))
    scan.on_book(book(COINM, [("62000", "100")], [("62001", "100")]))
    assert scan.on_book(book(SPOT, [("59990", "1")], [("60000", "1")])) == []
    assert scan.stats.below_minimum == 1
    assert scan.stats.emitted == 0


def test_below_min_notional_is_counted_not_emitted() -> None:
    scan = scanner(target="0.0001")  # 0.0001 x 60000 = 6 USDT < 10 USDT
    scan.on_instruments(rules(info(SPOT, lot_size=D("0.00001"), min_notional=D(10))))
    scan.on_book(book(USDM, [("60100", "1")], [("60101", "1")]))
    assert scan.on_book(book(SPOT, [("59990", "1")], [("60000", "1")])) == []
    assert scan.stats.below_minimum == 1


def test_below_min_quantity_is_counted_not_emitted() -> None:
    scan = scanner(target="0.0001")
    scan.on_instruments(rules(info(USDM, lot_size=D("0.001"), min_quantity=D("0.001"))))
    scan.on_book(book(USDM, [("60100", "1")], [("60101", "1")]))
    # the USDM lot 0.001 rounds 0.0001 down to 0: nothing executable
    assert scan.on_book(book(SPOT, [("59990", "1")], [("60000", "1")])) == []
    assert scan.stats.below_minimum == 1


def test_at_min_notional_is_emitted() -> None:
    scan = scanner(target="0.0002")  # 0.0002 x 60000 = 12 USDT >= 10
    scan.on_instruments(rules(info(SPOT, lot_size=D("0.00001"), min_notional=D(10))))
    scan.on_book(book(USDM, [("60100", "1")], [("60101", "1")]))
    [opp] = scan.on_book(book(SPOT, [("59990", "1")], [("60000", "1")]))
    assert opp.notional == D("12")
    assert scan.stats.emitted == 1


def test_a_new_instruments_list_replaces_the_venues_old_one() -> None:
    scan = scanner(target="0.0125")
    scan.on_instruments(rules(info(SPOT, lot_size=D("0.001"))))
    scan.on_instruments(InstrumentsUpdated(ts_event=T0, venue="BINANCE", instruments=()))
    assert scan.instrument(SPOT) is None
    scan.on_book(book(USDM, [("110", "1")], [("111", "1")]))
    [opp] = scan.on_book(book(SPOT, [("99", "1")], [("100", "1")]))
    assert opp.quantity == D("0.0125")


# ---- transfer costs ------------------------------------------------------------------------

def _bitstamp_pair(transfers: TransferCosts) -> Any:
    scan = scanner(transfers=transfers, freshness=None)
    scan.on_book(book(BITSTAMP, [("60100", "1")], [("60101", "1")]))
    [opp] = scan.on_book(book(SPOT, [("59990", "1")], [("60000", "1")]))
    return opp


def test_withdrawal_fee_is_amortised_over_the_rebalancing_period() -> None:
    costs = TransferCosts.from_settings({"BINANCE": {"BTC": "0.0002"}},
                                        rebalance_every_n_trades=10)
    opp = _bitstamp_pair(costs)
    # buy 0.01 on BINANCE at 60000 (600 USDT), sell on BITSTAMP at 60100: gross 1.0
    # transfer = 0.0002 BTC x 60000 / 10 = 1.2; net = 1.0 - 1.2 = -0.2 = -3.3333 bps of 600
    assert opp.gross_pnl == D("1")
    assert opp.transfer_cost == D("1.2")
    assert opp.net_pnl == D("-0.2")
    assert opp.net_edge_bps == D("-3.3333")


def test_rebalancing_less_often_makes_each_trade_cheaper() -> None:
    costs = TransferCosts.from_settings({"BINANCE": {"BTC": "0.0002"}},
                                        rebalance_every_n_trades=20)
    opp = _bitstamp_pair(costs)
    # transfer = 12 / 20 = 0.6; net = 0.4 = 6.6667 bps of 600
    assert opp.transfer_cost == D("0.6")
    assert opp.net_pnl == D("0.4")
    assert opp.net_edge_bps == D("6.6667")


def test_quote_withdrawal_on_the_sell_venue_is_added() -> None:
    costs = TransferCosts.from_settings({"BINANCE": {"BTC": "0.0002"}, "BITSTAMP": {"USD": 3}},
                                        rebalance_every_n_trades=10)
    # (0.0002 x 60000 + 3) / 10 = 1.5
    assert _bitstamp_pair(costs).transfer_cost == D("1.5")


def test_binance_spot_and_futures_wallets_transfer_for_free_by_default() -> None:
    scan = scanner(freshness=None)
    scan.on_book(book(USDM, [("60100", "1")], [("60101", "1")]))
    [opp] = scan.on_book(book(SPOT, [("59990", "1")], [("60000", "1")]))
    assert opp.transfer_cost == 0
    assert opp.net_pnl == opp.gross_pnl == D("1")


def test_transfer_cost_settings_are_validated() -> None:
    with pytest.raises(ConfigurationError):
        TransferCosts(rebalance_every_n_trades=0)
    with pytest.raises(ConfigurationError):
        TransferCosts.from_settings({"BINANCE": {"BTC": "-1"}})
    with pytest.raises(ConfigurationError):
        TransferCosts.from_settings({"BINANCE": {"BTC": "lots"}})


# ---- freshness budget ----------------------------------------------------------------------

def test_ttl_is_the_budget_left_after_the_oldest_quote_age() -> None:
    scan = scanner()
    scan.on_book(book(USDM, [("60100", "1")], [("60101", "1")], ts=T0 - 100 * MS))
    [opp] = scan.on_book(book(SPOT, [("59990", "1")], [("60000", "1")]))
    # Binance 50 ms x 3 = 150 ms budget; the USDM quote is 100 ms old: 50 ms left
    assert opp.oldest_quote_age_ns == 100 * MS
    assert opp.ttl_ns == 50 * MS


def test_quote_older_than_the_budget_is_stale_and_not_emitted() -> None:
    scan = scanner()
    scan.on_book(book(USDM, [("60100", "1")], [("60101", "1")], ts=T0 - 150 * MS))
    assert scan.on_book(book(SPOT, [("59990", "1")], [("60000", "1")])) == []
    assert scan.stats.stale == 1


def test_the_slowest_venue_sets_the_budget() -> None:
    scan = scanner(transfers=TransferCosts(withdrawal_fees={}))
    scan.on_book(book(BITSTAMP, [("60100", "1")], [("60101", "1")], ts=T0 - 200 * MS))
    [opp] = scan.on_book(book(SPOT, [("59990", "1")], [("60000", "1")]))
    # BITSTAMP is not listed: 150 ms x 3 = 450 ms; 450 - 200 = 250 ms
    assert opp.ttl_ns == 250 * MS


def test_configured_latency_and_safety_factor() -> None:
    budget = FreshnessBudget(latency_ns={"BINANCE": 20 * MS, "BINANCE_USDM": 10 * MS},
                             safety_factor=D("2.5"))
    assert budget.budget_ns(["BINANCE", "BINANCE_USDM"]) == 50 * MS
    assert budget.ttl_ns(["BINANCE_USDM"], 5 * MS) == 20 * MS
    with pytest.raises(ConfigurationError):
        FreshnessBudget(safety_factor=D(0))


# ---- walks ---------------------------------------------------------------------------------

def test_walk_native_takes_whole_contracts_across_levels() -> None:
    levels = ((D(50000), D(2)), (D(40000), D(10)))
    walk = walk_native(levels, D(5), InstrumentKind.INVERSE, D(100))
    assert walk is not None
    # 2 x 100 / 50000 + 3 x 100 / 40000 = 0.004 + 0.0075 = 0.0115 BTC for 500 USD
    assert walk.quantity == D("0.0115")
    assert walk.notional == D(500)
    assert walk.levels_used == 2
    assert not walk.depth_exhausted
    # and it agrees with walking that many base units
    again = walk_book(levels, walk.quantity, InstrumentKind.INVERSE, D(100))
    assert again is not None and again.native_quantity == D(5)


def test_floor_to_step() -> None:
    assert floor_to_step(D("0.0125"), D("0.001")) == D("0.012")
    assert floor_to_step(D("6.2"), D(1)) == D(6)
    assert floor_to_step(D("0.0009"), D("0.001")) == 0
    with pytest.raises(ValueError):
        floor_to_step(D(1), D(0))


# ---- settings ------------------------------------------------------------------------------

def test_settings_build_transfer_costs_and_freshness() -> None:
    from services.scanner.config import ScannerSettings

    cfg = ScannerSettings(arb_withdrawal_fees={"BITSTAMP": {"BTC": D("0.0005")}},
                          arb_rebalance_every_n_trades=5,
                          arb_latency_ms={"BINANCE": D(20)},
                          arb_latency_safety_factor=D(2)).arbitrage()
    assert cfg.transfers.withdrawal_fees[("BITSTAMP", "BTC")] == D("0.0005")
    assert cfg.transfers.withdrawal_fees[("BINANCE", "BTC")] == D("0.0002")  # default kept
    assert cfg.transfers.rebalance_every_n_trades == 5
    assert cfg.freshness is not None and cfg.freshness.budget_ns(["BINANCE"]) == 40 * MS
    assert cfg.freshness.budget_ns(["BITSTAMP"]) == 300 * MS  # 150 ms default x 2
    assert ScannerSettings(arb_freshness_enabled=False).arbitrage().freshness is None
