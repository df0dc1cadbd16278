"""ccxt markets and books into our events (pure)."""
from __future__ import annotations

import gzip
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from libs.common.enums import InstrumentKind
from libs.common.errors import ConfigurationError
from libs.common.events import InstrumentInfo, decode, encode
from services.intake.adapters.ccxt.parsing import (
    DECIMAL_PLACES,
    SIGNIFICANT_DIGITS,
    TICK_SIZE,
    BookInvalid,
    BookTracker,
    InstrumentsTracker,
    book_event,
    instrument_info,
    instruments_event,
    instruments_of,
    symbol_of,
    top_levels,
)

FIXTURES = Path(__file__).resolve().parents[4] / "data" / "recorded" / "ccxt_fixtures"
D = Decimal


def parsed(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / "ccxt_parsed" / f"{name}_ccxt_parsed.json").read_text())


def test_binance_market_rules_equal_the_venues_own_filters() -> None:
    raw = json.loads(gzip.decompress(
        (FIXTURES / "raw_rest" / "binance__api_v3_exchangeInfo.json.gz").read_bytes()))
    filters = {f["filterType"]: f for s in raw["symbols"] if s["symbol"] == "NKNUSDT"
               for f in s["filters"]}
    info = instrument_info("BINANCE", parsed("binance")["markets_subset"]["NKN/USDT"])
    assert info == InstrumentInfo(
        instrument_id="NKN/USDT.BINANCE", venue="BINANCE", symbol="NKNUSDT", base="NKN",
        quote="USDT", instrument_kind=InstrumentKind.SPOT, active=True,
        tick_size=D(filters["PRICE_FILTER"]["tickSize"]),
        lot_size=D(filters["LOT_SIZE"]["stepSize"]),
        min_quantity=D(filters["LOT_SIZE"]["minQty"]),
        min_notional=D(filters["MIN_NOTIONAL"]["minNotional"]),
        taker_fee=D("0.001"), maker_fee=D("0.001"))


def test_kraken_market_keeps_ccxts_fees_and_inactive_flag() -> None:
    # In the 2021 AssetPairs, ccxt maps ETH/BTC to the dark-pool pair XETHXXBT.d (inactive).
    info = instrument_info("KRAKEN", parsed("kraken")["markets_subset"]["ETH/BTC"])
    assert info is not None
    assert (info.symbol, info.active, info.taker_fee, info.maker_fee) == (
        "XETHXXBT.d", False, D("0.0036"), D("0.0016"))
    assert (info.tick_size, info.lot_size, info.min_quantity, info.min_notional) == (
        D("0.000001"), D("0.00000001"), None, None)


def _market(**over: Any) -> dict[str, Any]:
    base = {"id": "BTCUSDT", "symbol": "BTC/USDT", "spot": True, "active": True,
            "precision": {"price": 0.01, "amount": 1e-05},
            "limits": {"amount": {"min": 1e-05}, "cost": {"min": 5.0}},
            "taker": 0.001, "maker": 0.0008}
    return {**base, **over}


def test_contracts_and_non_spot_markets_are_left_out() -> None:
    assert instrument_info("OKX", _market(symbol="BTC/USDT:USDT", spot=False)) is None
    assert instrument_info("OKX", _market(symbol="BTC/USDT:USDT")) is None
    assert instrument_info("OKX", _market(spot=False)) is None


def test_zero_minimums_mean_none_and_unknown_active_counts_as_active() -> None:
    info = instrument_info("X", _market(limits={"amount": {"min": 0}, "cost": {"min": None}},
                                        active=None))
    assert info is not None and info.min_quantity is None and info.min_notional is None
    assert info.active is True


@pytest.mark.parametrize(("mode", "price", "tick"), [(TICK_SIZE, 0.01, D("0.01")),
                                                     (DECIMAL_PLACES, 2, D("0.01")),
                                                     (DECIMAL_PLACES, 0, D("1")),
                                                     (SIGNIFICANT_DIGITS, 5, None)])
def test_tick_size_from_each_ccxt_precision_mode(mode: int, price: Any,
                                                 tick: Decimal | None) -> None:
    info = instrument_info("X", _market(precision={"price": price, "amount": None}), mode)
    assert info is not None and info.tick_size == tick


def test_instruments_are_sorted_and_the_event_round_trips() -> None:
    infos = instruments_of("X", [_market(id="B", symbol="B/USDT"), _market(id="A",
                                                                           symbol="A/USDT")])
    assert [i.instrument_id for i in infos] == ["A/USDT.X", "B/USDT.X"]
    event = instruments_event("X", infos, ts_event=1_700_000_000_000_000_000)
    assert decode(encode(event)) == event


def test_instruments_tracker_says_changed_once_per_change() -> None:
    tracker = InstrumentsTracker()
    first = instruments_of("X", [_market()])
    assert tracker.changed(first)
    assert not tracker.changed(instruments_of("X", [_market()]))
    assert tracker.changed(instruments_of("X", [_market(taker=0.002)]))


def test_symbol_of_accepts_only_this_venues_ids() -> None:
    assert symbol_of("ETH/USD.BITSTAMP", "BITSTAMP") == "ETH/USD"
    for bad in ("ETH/USD.KRAKEN", "ETHUSD.BITSTAMP", "/USD.BITSTAMP"):
        with pytest.raises(ConfigurationError):
            symbol_of(bad, "BITSTAMP")


def test_top_levels_are_exact_decimals_of_ccxts_floats() -> None:
    levels = [[0.3521, 672.0], [0.352, 1144.0], [6.8e-05, 1e-08]]
    assert top_levels(levels, 2, "bids", "t") == ((D("0.3521"), D("672")), (D("0.352"),
                                                                            D("1144")))
    assert top_levels(levels[2:], 5, "bids", "t") == ((D("0.000068"), D("0.00000001")),)


@pytest.mark.parametrize(("levels", "why"), [
    ([[float("nan"), 1.0]], "not finite"),
    ([[1.0, 0.0]], "out of range"),
    ([[-1.0, 1.0]], "out of range"),
    ([[1.0, None]], "must be a number"),
    ([[1.0]], "not \\[price, size\\]"),
    ([[1.0, 1.0], [2.0, 1.0]], "not best first"),
])
def test_bad_book_levels_are_refused_with_the_reason(levels: list[Any], why: str) -> None:
    with pytest.raises(BookInvalid, match=why):
        top_levels(levels, 20, "bids", "t")


def _event(bid: str = "1", ask: str = "2", ts: int = 10**18, seq: int = 1) -> Any:
    return book_event(venue="X", iid="A/B.X", venue_symbol="AB", base="A", quote="B",
                      bids=((D(bid), D("1")),), asks=((D(ask), D("1")),), ts_event=ts,
                      ts_init=ts, sequence=seq, is_snapshot=False)


def test_crossed_book_is_refused() -> None:
    with pytest.raises(BookInvalid, match="crossed"):
        _event(bid="2", ask="2")


def test_book_tracker_publishes_changes_only_and_keeps_time_and_sequence_monotonic() -> None:
    t = BookTracker()
    top = ((D("1"), D("1")),), ((D("2"), D("1")),)
    assert t.is_fresh("A/B.X") and t.should_publish("A/B.X", *top)
    assert t.sequence("A/B.X", None) == 1  # no venue id: local count
    t.published(_event(ts=2_000_000), venue_numbered=False)
    assert not t.is_fresh("A/B.X") and not t.should_publish("A/B.X", *top)
    assert t.sequence("A/B.X", None) == 2 and t.sequence("A/B.X", 77) == 77
    assert t.stamp("A/B.X", 1) == 2_000_000 and t.ts_raised == 1  # venue time went back
    assert t.stamp("A/B.X", 3) == 3_000_000
    t.resubscribed("A/B.X")
    assert t.is_fresh("A/B.X") and t.should_publish("A/B.X", *top)
    assert t.last_ts("A/B.X") == 2_000_000 and t.last_sequence("A/B.X") == 1
