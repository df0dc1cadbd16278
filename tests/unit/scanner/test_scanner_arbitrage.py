from decimal import Decimal as D
from typing import Any

import pytest

from libs.common.clock import TestClock
from libs.common.enums import InstrumentKind, OrderSide
from libs.common.events import decode, encode
from libs.common.events.market import BookGapDetected, OrderBookUpdated
from libs.common.events.opportunity import ArbitrageOpportunityDetected
from services.scanner.domain.arbitrage import ArbitrageConfig, CrossVenueArbitrage
from services.scanner.domain.fees import FeeSchedule

SPOT_ID = "BTC/USDT.BINANCE"
USDM_ID = "BTC/USDT-PERP.BINANCE_USDM"
COINM_ID = "BTC/USD-PERP.BINANCE_COINM"
T0 = 1_723_161_300_000_000_000
SECOND = 1_000_000_000

_INSTRUMENTS: dict[str, dict[str, Any]] = {
    SPOT_ID: dict(venue="BINANCE", symbol="BTC/USDT", instrument_kind=InstrumentKind.SPOT,
                  base="BTC", quote="USDT"),
    USDM_ID: dict(venue="BINANCE_USDM", symbol="BTC/USDT-PERP",
                  instrument_kind=InstrumentKind.LINEAR, base="BTC", quote="USDT"),
    COINM_ID: dict(venue="BINANCE_COINM", symbol="BTC/USD-PERP",
                   instrument_kind=InstrumentKind.INVERSE, base="BTC", quote="USD",
                   contract_size=D(100)),
}


def book(instrument_id: str, bids: list[tuple[str, str]], asks: list[tuple[str, str]],
         ts: int = T0, seq: int = 1) -> OrderBookUpdated:
    return OrderBookUpdated(
        instrument_id=instrument_id, ts_event=ts, ts_init=ts, sequence=seq,
        bids=tuple((D(p), D(s)) for p, s in bids), asks=tuple((D(p), D(s)) for p, s in asks),
        **_INSTRUMENTS[instrument_id],
    )


def spot(bid: str = "61837.63", ask: str = "61837.64", size: str = "1", **kw: Any
         ) -> OrderBookUpdated:
    return book(SPOT_ID, [(bid, size)], [(ask, size)], **kw)


def usdm(bid: str = "61800.2", ask: str = "61800.3", size: str = "2", **kw: Any
         ) -> OrderBookUpdated:
    return book(USDM_ID, [(bid, size)], [(ask, size)], **kw)


def scanner(**cfg: Any) -> CrossVenueArbitrage:
    return CrossVenueArbitrage(TestClock(T0 + 5), FeeSchedule(), ArbitrageConfig(**cfg))


def test_near_miss_with_positive_gross_and_negative_net_is_emitted() -> None:
    scan = scanner()
    assert scan.on_book(usdm(ts=T0 - 200)) == []
    trigger = spot(ts=T0)
    [opp] = scan.on_book(trigger)

    buy, sell = opp.legs
    assert (buy.instrument_id, buy.side, sell.instrument_id, sell.side) == (
        USDM_ID, OrderSide.BUY, SPOT_ID, OrderSide.SELL)
    assert opp.quantity == buy.quantity == sell.quantity == D("0.01")
    assert (buy.vwap, sell.vwap) == (D("61800.3"), D("61837.63"))
    assert opp.notional == D("618.003")
    assert opp.gross_pnl == D("0.3733")  # (61837.63 - 61800.3) x 0.01
    assert buy.fee == D("0.3090015")  # 0.05% of 618.003
    assert sell.fee == D("0.6183763")  # 0.1% of 618.3763
    assert opp.fees == D("0.9273778")
    assert opp.net_pnl == D("-0.5540778")
    assert opp.gross_edge_bps == (D("0.3733") * 10_000 / D("618.003")).quantize(D("0.0001"))
    assert opp.net_edge_bps == (D("-0.5540778") * 10_000 / D("618.003")).quantize(D("0.0001"))
    assert opp.net_edge_bps < 0 < opp.gross_edge_bps


def test_opportunity_with_positive_net_edge_after_fees() -> None:
    scan = scanner()
    scan.on_book(usdm())
    [opp] = scan.on_book(spot(bid="62000", ask="62000.01"))
    assert opp.gross_pnl == D("1.997")
    assert opp.fees == D("0.9290015")  # 0.3090015 + 0.62
    assert opp.net_pnl == D("1.0679985")
    assert opp.net_edge_bps > 0


def test_inverse_leg_is_sized_in_contracts_at_its_own_price() -> None:
    scan = scanner()
    scan.on_book(book(COINM_ID, [("61799.9", "500")], [("61800", "100")], ts=T0 - 10, seq=7))
    [opp] = scan.on_book(spot(bid="62000", ask="62000.01", seq=3))
    buy, sell = opp.legs
    assert buy.instrument_id == COINM_ID
    assert buy.native_quantity == D("6.18")  # 0.01 BTC x 61800 / 100 USD per contract
    assert buy.quantity == D("0.01")
    assert buy.vwap == D(61800)
    assert opp.gross_pnl == D(2)  # 620 - 618
    assert opp.fees == D("0.929")  # 0.05% of 618 + 0.1% of 620
    assert opp.net_pnl == D("1.071")
    assert opp.quote == "USD"  # USDT and USD legs: reported in the shared quote class
    assert (buy.book_sequence, sell.book_sequence) == (7, 3)
    assert (buy.quote_ts, sell.quote_ts) == (T0 - 10, T0)


def test_size_is_capped_by_the_thinner_side() -> None:
    scan = scanner(target_quantity={"BTC": D("0.01")})
    scan.on_book(usdm())
    [opp] = scan.on_book(spot(bid="62000", ask="62000.01", size="0.004"))
    assert opp.quantity == D("0.004")
    assert [leg.quantity for leg in opp.legs] == [D("0.004"), D("0.004")]
    assert opp.gross_pnl == (D(62000) - D("61800.3")) * D("0.004")


def test_size_capped_by_inverse_depth_uses_the_base_value_of_its_contracts() -> None:
    scan = scanner()
    scan.on_book(spot(bid="61000", ask="61000.01"))
    [opp] = scan.on_book(book(COINM_ID, [("62000", "3")], [("62000.1", "100")]))
    buy, sell = opp.legs
    assert sell.instrument_id == COINM_ID
    assert sell.native_quantity == D(3)
    assert opp.quantity == buy.quantity == sell.quantity == D(300) / D(62000)
    assert opp.gross_pnl == (D(300) - D("61000.01") * opp.quantity).quantize(D("1E-8"))


def test_only_the_profitable_direction_of_a_pair_is_emitted() -> None:
    scan = scanner()
    scan.on_book(usdm())
    opps = scan.on_book(spot())
    assert [(o.legs[0].instrument_id, o.legs[1].instrument_id) for o in opps] == [
        (USDM_ID, SPOT_ID)]


def test_opportunities_come_best_net_edge_first() -> None:
    scan = scanner()
    scan.on_book(usdm(bid="61800", ask="61800.1"))
    scan.on_book(book(COINM_ID, [("61790", "100")], [("61790.1", "100")]))
    opps = scan.on_book(spot(bid="62000", ask="62000.01"))
    assert [o.legs[0].instrument_id for o in opps] == [COINM_ID, USDM_ID]
    assert opps[0].net_edge_bps > opps[1].net_edge_bps


def test_emitted_event_is_caused_by_the_triggering_book() -> None:
    scan = scanner(freshness=None)  # a 250 ms old quote is past the default 150 ms budget
    other = usdm(ts=T0 - 250_000_000)
    scan.on_book(other)
    trigger = spot(ts=T0)
    [opp] = scan.on_book(trigger)
    assert opp.correlation_id == trigger.correlation_id
    assert opp.causation_id == trigger.event_id
    assert opp.ts_event == T0
    assert opp.ts_init == T0 + 5  # from the injected clock, not the wall clock
    assert opp.oldest_quote_age_ns == 250_000_000
    assert opp.strategy == "cross_venue_2leg"
    assert opp.quote == "USDT"
    assert decode(encode(opp)) == opp


def test_opportunity_id_is_derived_from_pair_and_book_sequences() -> None:
    def run(spot_seq: int) -> ArbitrageOpportunityDetected:
        scan = scanner()
        scan.on_book(usdm(seq=10))
        [opp] = scan.on_book(spot(seq=spot_seq))
        return opp

    assert run(20).opportunity_id == run(20).opportunity_id
    assert run(20).opportunity_id != run(21).opportunity_id


def test_unchanged_pair_is_not_re_emitted_within_the_interval() -> None:
    scan = scanner()
    scan.on_book(usdm())
    assert len(scan.on_book(spot(ts=T0, seq=1))) == 1
    assert scan.on_book(spot(ts=T0 + SECOND // 2, seq=2)) == []
    assert scan.on_book(usdm(ts=T0 + SECOND - 1, seq=2)) == []
    assert len(scan.on_book(spot(ts=T0 + SECOND, seq=3))) == 1


def test_net_edge_move_above_threshold_is_emitted_within_the_interval() -> None:
    scan = scanner()
    scan.on_book(usdm())
    [first] = scan.on_book(spot(bid="62000", ask="62000.01", ts=T0, seq=1))
    # +0.04 USD on 0.01 BTC is about 0.65 bp: below the 1 bp threshold
    assert scan.on_book(spot(bid="62004", ask="62004.01", ts=T0 + 1, seq=2)) == []
    # +0.08 USD is about 1.3 bp from the last emitted edge
    [moved] = scan.on_book(spot(bid="62008", ask="62008.01", ts=T0 + 2, seq=3))
    assert moved.net_edge_bps - first.net_edge_bps > 1


def test_throttle_settings_are_configurable() -> None:
    scan = scanner(min_interval_ns=0)
    scan.on_book(usdm())
    assert len(scan.on_book(spot(ts=T0, seq=1))) == 1
    assert len(scan.on_book(spot(ts=T0, seq=2))) == 1


def test_no_opportunity_when_gross_edge_is_not_positive() -> None:
    scan = scanner()
    scan.on_book(usdm(bid="61837.63", ask="61837.64"))
    assert scan.on_book(spot()) == []


@pytest.mark.parametrize("bad", [
    book(SPOT_ID, [("61837.64", "1")], [("61837.63", "1")]),  # crossed
    book(SPOT_ID, [("61837.63", "1")], [("61837.63", "1")]),  # locked
    book(SPOT_ID, [], [("61837.64", "1")]),  # no bids
    book(SPOT_ID, [("61837.63", "1")], []),  # no asks
])
def test_no_opportunity_against_a_crossed_or_empty_book(bad: OrderBookUpdated) -> None:
    scan = scanner()
    scan.on_book(usdm())
    assert scan.on_book(bad) == []
    # ...and the bad book also stops the pair when the other side updates
    assert scan.on_book(usdm(bid="61800.1", ask="61800.2", seq=2)) == []


def test_bad_book_replaces_the_last_good_one() -> None:
    scan = scanner(min_interval_ns=0)
    scan.on_book(usdm())
    assert len(scan.on_book(spot(seq=1))) == 1
    scan.on_book(book(SPOT_ID, [], [], seq=2))
    assert scan.on_book(usdm(seq=2)) == []


def test_book_gap_stops_pricing_against_the_discarded_book() -> None:
    scan = scanner(min_interval_ns=0)
    scan.on_book(usdm())
    assert len(scan.on_book(spot())) == 1
    scan.on_gap(BookGapDetected(ts_event=T0, instrument_id=SPOT_ID, expected_from=2,
                                got_from=5, detail="diff skipped"))
    assert scan.latest_book(SPOT_ID) is None
    assert scan.on_book(usdm(seq=2)) == []


def test_an_older_sequence_is_ignored() -> None:
    scan = scanner(min_interval_ns=0)
    scan.on_book(usdm())
    scan.on_book(spot(bid="62000", ask="62000.01", seq=5))
    assert scan.on_book(spot(bid="63000", ask="63000.01", seq=4)) == []
    latest = scan.latest_book(SPOT_ID)
    assert latest is not None and latest.sequence == 5


def test_base_without_a_target_quantity_is_not_scanned() -> None:
    scan = scanner(target_quantity={"ETH": D("0.1")})
    scan.on_book(usdm())
    assert scan.on_book(spot()) == []


def test_walk_is_reused_when_only_deeper_levels_change() -> None:
    scan = scanner(min_interval_ns=0)
    scan.on_book(usdm())
    first = book(SPOT_ID, [("62000", "1"), ("61999", "1")], [("62000.01", "1")], seq=1)
    second = book(SPOT_ID, [("62000", "1"), ("61990", "5")], [("62000.01", "1")], seq=2)
    [a] = scan.on_book(first)
    [b] = scan.on_book(second)
    assert a.legs[1].vwap == b.legs[1].vwap == D(62000)
    assert b.legs[1].book_sequence == 2
