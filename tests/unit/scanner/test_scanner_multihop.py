"""Multi-hop cycles: the depth check by hand, and the scanner's events."""
from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from libs.common.clock import TestClock
from libs.common.enums import InstrumentKind, OrderSide, RouteType
from libs.common.errors import ConfigurationError, ValidationFailed
from libs.common.events import decode, encode
from libs.common.events.market import (
    BookGapDetected,
    InstrumentInfo,
    InstrumentsUpdated,
    OrderBookUpdated,
)
from services.scanner.domain.fees import FeeSchedule
from services.scanner.domain.multihop import (
    Hop,
    MultiHopArbitrage,
    MultiHopConfig,
    depth_check,
    walk_cycle,
)

T0 = 1_723_161_300_000_000_000
SECOND = 1_000_000_000
BUY, SELL = OrderSide.BUY, OrderSide.SELL
BTCUSDT, ETHBTC, ETHUSDT = "BTC/USDT.BINANCE", "ETH/BTC.BINANCE", "ETH/USDT.BINANCE"
BNBETH, BNBUSDT = "BNB/ETH.BINANCE", "BNB/USDT.BINANCE"
Levels = list[tuple[str, str]]


def lv(levels: Levels) -> tuple[tuple[D, D], ...]:
    return tuple((D(p), D(s)) for p, s in levels)


def hops(eth_bids: Levels = (("1010", "10"),), btc_asks: Levels = (("20000", "10"),),
         lots: bool = False, **eth_rules: D) -> list[Hop]:
    """USDT -> BTC -> ETH -> USDT at 0.1% per hop: 1% gross at the touch."""
    fee = D("0.001")
    return [
        Hop(BTCUSDT, BUY, lv(list(btc_asks)), fee, D("0.0001") if lots else None),
        Hop(ETHBTC, BUY, lv([("0.05", "100")]), fee, D("0.001") if lots else None),
        Hop(ETHUSDT, SELL, lv(list(eth_bids)), fee, D("0.001") if lots else None, **eth_rules),
    ]


# ---- the depth check, by hand ------------------------------------------------------------


def test_walk_pays_each_fee_out_of_what_the_hop_receives() -> None:
    walk = walk_cycle(hops(), D(1000))
    btc, eth, usdt = walk.fills
    assert (btc.quantity, btc.notional, btc.fee, btc.amount_out) == (
        D("0.05"), D(1000), D("1.000"), D("0.04995"))
    assert (eth.quantity, eth.notional, eth.fee, eth.amount_out) == (
        D("0.999"), D("0.04995"), D("0.00004995"), D("0.998001"))
    assert (usdt.quantity, usdt.notional, usdt.fee, usdt.amount_out) == (
        D("0.998001"), D("1007.98101"), D("1.00798101"), D("1006.97302899"))
    assert (walk.start_amount, walk.final_amount) == (D(1000), D("1006.97302899"))
    assert walk.complete


def test_depth_check_reports_gross_net_and_fees_in_the_start_currency() -> None:
    check = depth_check(hops(), D(1000))
    assert check is not None and not check.capped
    assert check.gross_pnl == D(10)  # 1000 -> 0.05 BTC -> 1 ETH -> 1010
    assert check.net_pnl == D("6.97302899")  # 1000 x (1.01 x 0.999^3 - 1)
    assert check.fees == D("3.02697101")
    assert check.gross_edge_bps == D(100)
    assert check.net_edge_bps == D("69.7302899")


def test_lot_rounding_dust_is_marked_at_the_rates_the_rest_of_the_cycle_got() -> None:
    check = depth_check(hops(lots=True), D(1000))
    assert check is not None
    *_, usdt = check.net.fills
    assert usdt.quantity == D("0.998")  # 0.998001 ETH rounded down to the 0.001 lot
    assert usdt.residual == D("0.000001")
    assert check.delivered_pnl == D("6.97202")  # 0.998 x 1010 x 0.999 - 1000
    # the 0.000001 ETH left over is worth 0.000001 x 1010 x 0.999 USDT at the last hop's rate
    assert check.net.residual_value == D("0.00100899")
    assert check.net_pnl == D("6.97302899")  # the same as without lots: prices are linear
    assert check.fees == D("3.02697101")


def test_legs_are_priced_at_the_vwap_of_the_levels_they_take() -> None:
    check = depth_check(hops(eth_bids=[("1010", "0.5"), ("1009", "10")]), D(1000))
    assert check is not None
    *_, usdt = check.net.fills
    assert usdt.notional == D("1007.483009")  # 0.5 @ 1010 + 0.498001 @ 1009
    assert usdt.vwap == D("1007.483009") / D("0.998001")
    assert usdt.best_price == D(1010)
    assert check.gross_pnl == D("9.5")  # 1 ETH: 0.5 @ 1010 + 0.5 @ 1009
    assert check.net_pnl == D("1007.483009") * D("0.999") - 1000


def test_size_is_cut_to_what_a_later_books_depth_can_take() -> None:
    check = depth_check(hops(eth_bids=[("1010", "0.3")]), D(1000))
    assert check is not None and check.capped
    # 0.3 ETH is what 300 USDT buys; sized 1 ppm under it
    assert D(299) < check.start_amount < D(300)
    *_, usdt = check.net.fills
    assert usdt.quantity <= D("0.3")
    assert check.gross_edge_bps == pytest.approx(D(100), abs=D("0.0001"))


def test_size_is_cut_to_the_first_books_depth() -> None:
    check = depth_check(hops(btc_asks=[("20000", "0.01"), ("20010", "0.01")]), D(1000))
    assert check is not None and check.capped
    assert check.start_amount <= D("400.1")  # both levels: 200 + 200.1 USDT
    assert check.start_amount > D("400.09")
    btc = check.net.fills[0]
    assert btc.quantity < D("0.02")


def test_nothing_is_executable_under_a_venue_minimum() -> None:
    assert depth_check(hops(min_notional=D(10)), D(5)) is None
    assert depth_check(hops(min_quantity=D(1)), D(5)) is None
    assert depth_check(hops(min_notional=D(10)), D(1000)) is not None


def test_empty_book_side_is_not_executable() -> None:
    assert depth_check(hops(eth_bids=[]), D(1000)) is None


# ---- the scanner ---------------------------------------------------------------------------


def info(iid: str, kind: InstrumentKind = InstrumentKind.SPOT, **rules: Any) -> InstrumentInfo:
    symbol, venue = iid.rsplit(".", 1)
    base, quote = symbol.split("/")
    return InstrumentInfo(instrument_id=iid, venue=venue, symbol=base + quote, base=base,
                          quote=quote, instrument_kind=kind, **rules)


def book(iid: str, bid: str, ask: str, size: str = "100", ts: int = T0, seq: int = 1
         ) -> OrderBookUpdated:
    symbol, venue = iid.rsplit(".", 1)
    base, quote = symbol.split("/")
    return OrderBookUpdated(instrument_id=iid, venue=venue, symbol=base + quote,
                            instrument_kind=InstrumentKind.SPOT, base=base, quote=quote,
                            ts_event=ts, ts_init=ts, sequence=seq,
                            bids=((D(bid), D(size)),), asks=((D(ask), D(size)),))


def scanner(ids: tuple[str, ...] = (BTCUSDT, ETHBTC, ETHUSDT), **cfg: Any) -> MultiHopArbitrage:
    cfg.setdefault("start_amounts", {"USDT": D(1000)})
    return MultiHopArbitrage(TestClock(T0 + 5), FeeSchedule(), MultiHopConfig(**cfg),
                             instruments=[info(i) for i in ids])


def triangle(scan: MultiHopArbitrage, eth_bid: str = "1010", ts: int = T0, seq: int = 1,
             ) -> list[Any]:
    assert scan.on_book(book(BTCUSDT, "19990", "20000", ts=ts - 300, seq=seq)) == []
    assert scan.on_book(book(ETHBTC, "0.0499", "0.05", ts=ts - 100, seq=seq)) == []
    return scan.on_book(book(ETHUSDT, eth_bid, "1011", ts=ts, seq=seq))


def test_three_hop_cycle_is_emitted_with_one_leg_per_hop_from_the_start_currency() -> None:
    scan = scanner()
    [opp] = triangle(scan)
    assert opp.route is RouteType.THREE_HOP
    assert [(leg.instrument_id, leg.side) for leg in opp.legs] == [
        (BTCUSDT, BUY), (ETHBTC, BUY), (ETHUSDT, SELL)]
    assert (opp.base, opp.quote, opp.quantity, opp.notional) == ("USDT", "USDT", D(1000),
                                                                  D(1000))
    assert (opp.gross_pnl, opp.fees, opp.net_pnl) == (D(10), D("3.02697101"),
                                                      D("6.97302899"))
    assert (opp.gross_edge_bps, opp.net_edge_bps) == (D(100), D("69.7303"))
    btc, eth, usdt = opp.legs
    assert (btc.quantity, btc.vwap, btc.fee_rate, btc.fee) == (D("0.05"), D(20000), D("0.001"),
                                                                D("1.000"))
    assert (eth.quantity, eth.fee) == (D("0.999"), D("0.00004995"))  # fee in BTC, its quote
    assert (usdt.quantity, usdt.native_quantity, usdt.vwap) == (D("0.998001"), D("0.998001"),
                                                                 D(1010))
    assert [leg.quote_ts for leg in opp.legs] == [T0 - 300, T0 - 100, T0]
    assert opp.oldest_quote_age_ns == 300
    assert opp.strategy == "multi_hop_cycle"
    assert decode(encode(opp)) == opp


def test_emitted_cycle_is_caused_by_the_triggering_book_and_has_a_derived_id() -> None:
    def run(seq: int) -> Any:
        scan = scanner()
        [opp] = triangle(scan, seq=seq)
        return opp, scan.latest_book(ETHUSDT)

    (a, trigger), (b, _) = run(1), run(1)
    assert a.opportunity_id == b.opportunity_id
    assert a.opportunity_id != run(2)[0].opportunity_id
    assert trigger is not None
    assert (a.correlation_id, a.causation_id) == (trigger.correlation_id, trigger.event_id)
    assert (a.ts_event, a.ts_init) == (T0, T0 + 5)


def test_near_miss_with_positive_gross_and_negative_net_is_emitted() -> None:
    [opp] = triangle(scanner(), eth_bid="1002")  # 0.2% gross, 0.3% of fees
    assert opp.gross_pnl == D(2)
    assert opp.net_edge_bps < 0 < opp.gross_edge_bps


def test_no_cycle_when_gross_is_not_positive() -> None:
    scan = scanner()
    assert triangle(scan, eth_bid="1000") == []  # exactly flat at the touch
    assert scan.stats.candidates == 0


def test_four_hop_cycle_on_a_square_of_markets() -> None:
    ids = (BTCUSDT, ETHBTC, BNBETH, BNBUSDT)
    scan = scanner(ids)
    assert set(scan.search.lengths.tolist()) == {4}
    scan.on_book(book(BTCUSDT, "19990", "20000"))
    scan.on_book(book(ETHBTC, "0.0499", "0.05"))
    scan.on_book(book(BNBETH, "0.199", "0.2"))
    [opp] = scan.on_book(book(BNBUSDT, "203", "203.5"))  # 1000 -> 0.05 -> 1 -> 5 -> 1015
    assert opp.route is RouteType.FOUR_HOP
    assert [(leg.instrument_id, leg.side) for leg in opp.legs] == [
        (BTCUSDT, BUY), (ETHBTC, BUY), (BNBETH, BUY), (BNBUSDT, SELL)]
    assert opp.gross_pnl == D(15)
    assert opp.net_pnl == (D(1015) * D("0.999") ** 4 - 1000).quantize(D("1E-8"))


def test_cycle_starts_at_the_first_configured_currency_it_passes() -> None:
    [opp] = triangle(scanner(start_amounts={"BTC": D("0.05"), "USDT": D(1000)}))
    assert [leg.instrument_id for leg in opp.legs] == [ETHBTC, ETHUSDT, BTCUSDT]
    assert (opp.base, opp.quantity) == ("BTC", D("0.05"))
    # 0.05 BTC -> 1 ETH -> 1010 USDT -> 0.0505 BTC
    assert opp.gross_pnl == D("0.0005")


def test_cycle_without_a_start_currency_is_not_scanned() -> None:
    assert triangle(scanner(start_amounts={"EUR": D(1000)})) == []


def test_unchanged_cycle_is_not_re_emitted_within_the_interval() -> None:
    scan = scanner()
    assert len(triangle(scan, seq=1)) == 1
    assert scan.on_book(book(ETHUSDT, "1010", "1011", ts=T0 + SECOND // 2, seq=2)) == []
    assert scan.stats.throttled == 1
    # a net edge move above 1 bp is emitted at once
    assert len(scan.on_book(book(ETHUSDT, "1011", "1012", ts=T0 + SECOND // 2, seq=3))) == 1
    assert len(scan.on_book(book(ETHUSDT, "1011", "1012", ts=T0 + 2 * SECOND, seq=4))) == 1


@pytest.mark.parametrize("bad", [("1011", "1010"), ("1010", "1010")])  # crossed, locked
def test_crossed_book_takes_its_market_out_of_every_cycle(bad: tuple[str, str]) -> None:
    scan = scanner(min_interval_ns=0)
    assert len(triangle(scan)) == 1
    assert scan.on_book(book(ETHUSDT, *bad, seq=2)) == []
    assert scan.on_book(book(BTCUSDT, "19990", "20000", seq=3)) == []
    assert len(scan.on_book(book(ETHUSDT, "1010", "1011", seq=4))) == 1


def test_book_gap_stops_pricing_against_the_discarded_book() -> None:
    scan = scanner(min_interval_ns=0)
    assert len(triangle(scan)) == 1
    scan.on_gap(BookGapDetected(ts_event=T0, instrument_id=ETHBTC, expected_from=2,
                                got_from=5, detail="diff skipped"))
    assert scan.latest_book(ETHBTC) is None
    assert scan.on_book(book(ETHUSDT, "1010", "1011", seq=2)) == []


def test_an_older_sequence_is_ignored() -> None:
    scan = scanner(min_interval_ns=0)
    triangle(scan, seq=5)
    assert scan.on_book(book(ETHUSDT, "1020", "1021", seq=4)) == []
    latest = scan.latest_book(ETHUSDT)
    assert latest is not None and latest.sequence == 5


def test_books_outside_the_market_set_and_derivatives_are_ignored() -> None:
    perp = "BTC/USDT-PERP.BINANCE_USDM"
    scan = MultiHopArbitrage(TestClock(T0), FeeSchedule(), instruments=[
        info(BTCUSDT), info(ETHBTC), info(perp, InstrumentKind.LINEAR)])
    assert [m.instrument_id for m in scan.graph.markets] == [BTCUSDT, ETHBTC]
    assert scan.on_book(book("XRP/USDT.BINANCE", "1", "1.1")) == []
    assert scan.stats.books == 0


def test_new_market_from_instruments_update_closes_a_cycle_with_the_books_already_held() -> None:
    scan = scanner((BTCUSDT, ETHBTC), min_interval_ns=0)
    assert len(scan.search) == 0
    scan.on_book(book(BTCUSDT, "19990", "20000"))
    scan.on_book(book(ETHBTC, "0.0499", "0.05"))
    scan.on_instruments(InstrumentsUpdated(ts_event=T0, venue="BINANCE", instruments=(
        info(BTCUSDT), info(ETHBTC), info(ETHUSDT))))
    assert len(scan.search) == 2  # the triangle, both ways round
    [opp] = scan.on_book(book(ETHUSDT, "1010", "1011"))
    assert opp.net_pnl == D("6.97302899")


def test_lot_sizes_from_instrument_info_are_applied() -> None:
    lots = {BTCUSDT: D("0.0001"), ETHBTC: D("0.001"), ETHUSDT: D("0.001")}
    scan = MultiHopArbitrage(TestClock(T0), FeeSchedule(),
                             MultiHopConfig(start_amounts={"USDT": D(1000)}),
                             instruments=[info(i, lot_size=lot) for i, lot in lots.items()])
    [opp] = triangle(scan)
    assert opp.legs[2].quantity == D("0.998")
    assert opp.net_pnl == D("6.97302899")  # the 0.000001 ETH of dust marked at 1009.98901


def test_only_the_best_candidates_are_depth_checked() -> None:
    # Five alts against USDT and BTC: each alt closes two triangles with BTC/USDT, and the
    # 4-cycles through two alts. A BTC/USDT book that makes them all positive is checked at
    # most max_candidates times.
    alts = ["AAA", "BBB", "CCC", "DDD", "EEE"]
    ids = [BTCUSDT] + [f"{a}/USDT.BINANCE" for a in alts] + [f"{a}/BTC.BINANCE" for a in alts]
    scan = scanner(tuple(ids), max_candidates=3)
    for a in alts:
        scan.on_book(book(f"{a}/USDT.BINANCE", "10.5", "10.51"))
        scan.on_book(book(f"{a}/BTC.BINANCE", "0.0005", "0.000501"))
    opps = scan.on_book(book(BTCUSDT, "19990", "20000"))
    assert scan.stats.candidates > 3
    assert scan.stats.depth_checked == 3
    assert len(opps) == 3
    assert [o.net_edge_bps for o in opps] == sorted((o.net_edge_bps for o in opps),
                                                    reverse=True)


@pytest.mark.parametrize("bad", [
    dict(start_amounts={}), dict(start_amounts={"USDT": D(0)}), dict(lengths=(2,)),
    dict(max_candidates=0), dict(min_interval_ns=-1), dict(min_change_bps=D(-1)),
])
def test_inconsistent_settings_fail_at_start_up(bad: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        MultiHopConfig(**bad)


def test_book_that_does_not_match_its_market_is_a_validation_error() -> None:
    scan = scanner()
    wrong = book(ETHUSDT, "1010", "1011").model_copy(update={"base": "BTC"})
    with pytest.raises(ValidationFailed):
        scan.on_book(wrong)
    perp = book(ETHUSDT, "1010", "1011").model_copy(
        update={"instrument_kind": InstrumentKind.LINEAR})
    with pytest.raises(ValidationFailed):
        scan.on_book(perp)
    assert scan.latest_book(ETHUSDT) is None


def test_default_start_amounts_are_usd_like() -> None:
    assert dict(MultiHopConfig().start_amounts) == {"USDT": D(500), "USD": D(500)}
