"""The recorded Poloniex BTC/USDT - BCH/USDT - BCH/BTC books (30 s, 2022-08-21) through the
multi-hop scanner. The books are rebuilt here from the raw `book_lv2` messages by a small
helper (snapshot, then updates whose `lastId` must equal the previous `id`; size 0 deletes a
level), independent of intake's Poloniex book builder.

Fees: Poloniex spot tier 1 (30-day volume < 50k USD, no TRX): maker 0.145 %, taker 0.155 %,
as a third-party review (sectcrypto.com, undated) quotes Poloniex's schedule. Not confirmed for
2022-08-21, and the recording does not say which tier the recorder had.
"""
from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path

import pytest

from libs.common.clock import TestClock
from libs.common.enums import InstrumentKind, OrderSide, RouteType
from libs.common.events.market import InstrumentInfo, OrderBookUpdated
from services.scanner.domain.fees import FeeSchedule
from services.scanner.domain.multihop import (
    Hop,
    MultiHopArbitrage,
    MultiHopConfig,
    depth_check,
)

DATA = Path(__file__).resolve().parents[3] / "data" / "recorded"
WS = DATA / "cryptofeed" / "master_format1" / "POLONIEX.ws.1.0.gz"
MARKETS = DATA / "ccxt_fixtures" / "raw_rest" / "poloniex__markets.json.gz"
SYMBOLS = ("BTC_USDT", "BCH_USDT", "BCH_BTC")
TAKER = D("0.00155")
FEES = FeeSchedule.from_settings({"POLONIEX": {"taker": TAKER, "maker": "0.00145"}})
BUY, SELL = OrderSide.BUY, OrderSide.SELL


def iid(symbol: str) -> str:
    base, quote = symbol.split("_")
    return f"{base}/{quote}.POLONIEX"


def poloniex_infos(path: Path = MARKETS) -> list[InstrumentInfo]:
    """Lot size (10^-quantityScale), minimum quantity and minimum amount (quote notional) of
    the triangle's markets from the recorded `/markets` response."""
    out = []
    for m in json.loads(gzip.decompress(path.read_bytes())):
        if m["symbol"] not in SYMBOLS:
            continue
        lim = m["symbolTradeLimit"]
        out.append(InstrumentInfo(
            instrument_id=iid(m["symbol"]), venue="POLONIEX", symbol=m["symbol"],
            base=m["baseCurrencyName"], quote=m["quoteCurrencyName"],
            instrument_kind=InstrumentKind.SPOT, active=m["state"] == "NORMAL",
            tick_size=D(1).scaleb(-int(lim["priceScale"])),
            lot_size=D(1).scaleb(-int(lim["quantityScale"])),
            min_quantity=D(lim["minQuantity"]), min_notional=D(lim["minAmount"])))
    return out


def poloniex_books(path: Path = WS, symbols: tuple[str, ...] = SYMBOLS, depth: int = 20,
                   ) -> Iterator[OrderBookUpdated]:
    """One `OrderBookUpdated` per `book_lv2` snapshot or update of `symbols`, in file order."""
    levels: dict[str, dict[str, dict[D, D]]] = {}
    last_id: dict[str, int] = {}
    with gzip.open(path, "rt") as f:
        for line_no, line in enumerate(f, 1):
            _, sep, payload = line.partition(": ")
            if not sep or '"book_lv2"' not in payload:
                continue
            msg = json.loads(payload)
            if msg.get("channel") != "book_lv2" or "action" not in msg:
                continue  # the subscription ack
            for d in msg["data"]:
                sym = d["symbol"]
                if sym not in symbols:
                    continue
                if msg["action"] == "snapshot":
                    levels[sym] = {"bids": {}, "asks": {}}
                elif sym not in levels or d["lastId"] != last_id[sym]:
                    raise ValueError(f"line {line_no}: {sym} update {d['lastId']} does not "
                                     f"follow {last_id.get(sym)}")
                last_id[sym] = int(d["id"])
                for side in ("bids", "asks"):
                    book_side = levels[sym][side]
                    for price, size in d[side]:
                        if D(size) == 0:
                            book_side.pop(D(price), None)
                        else:
                            book_side[D(price)] = D(size)
                base, quote = sym.split("_")
                ts = int(d["ts"]) * 1_000_000
                yield OrderBookUpdated(
                    instrument_id=iid(sym), venue="POLONIEX", symbol=sym,
                    instrument_kind=InstrumentKind.SPOT, base=base, quote=quote,
                    ts_event=ts, ts_init=ts, sequence=int(d["id"]),
                    bids=tuple(sorted(levels[sym]["bids"].items(), reverse=True)[:depth]),
                    asks=tuple(sorted(levels[sym]["asks"].items())[:depth]),
                    is_snapshot=msg["action"] == "snapshot")


@pytest.fixture(scope="module")
def books() -> list[OrderBookUpdated]:
    return list(poloniex_books())


# The two ways round the triangle, as (instrument, side) from USDT.
FORWARD = ((iid("BTC_USDT"), BUY), (iid("BCH_BTC"), BUY), (iid("BCH_USDT"), SELL))
REVERSE = ((iid("BCH_USDT"), BUY), (iid("BCH_BTC"), SELL), (iid("BTC_USDT"), SELL))


def touch_ratio(latest: dict[str, OrderBookUpdated], way: tuple[tuple[str, OrderSide], ...],
                ) -> D:
    """Product of the top-of-book conversion rates round the triangle, before fees."""
    r = D(1)
    for instrument, side in way:
        b = latest[instrument]
        r = r / b.asks[0][0] if side is BUY else r * b.bids[0][0]
    return r


def test_recorded_books_follow_their_sequence_and_are_never_crossed(
        books: list[OrderBookUpdated]) -> None:
    counts = {s: sum(1 for b in books if b.symbol == s) for s in SYMBOLS}
    assert counts == {"BTC_USDT": 160, "BCH_USDT": 57, "BCH_BTC": 25}  # snapshot + updates
    assert all(b.bids[0][0] < b.asks[0][0] for b in books)
    assert books[-1].ts_event - books[0].ts_event < 31_000_000_000


def test_triangle_over_the_window_at_poloniex_minimum_size(
        books: list[OrderBookUpdated]) -> None:
    # 2 USDT buys about 0.01 BCH, Poloniex's minimum BCH quantity and all that its best
    # BCH/BTC ask offered at times: every leg fills at the touch.
    scan = MultiHopArbitrage(TestClock(0), FEES, MultiHopConfig(
        start_amounts={"USDT": D(2)}, min_interval_ns=0, min_change_bps=D(0)),
        instruments=poloniex_infos())
    assert len(scan.search) == 2
    latest: dict[str, OrderBookUpdated] = {}
    positive_at_touch: list[tuple[str, D]] = []  # (trigger event id, gross edge)
    emitted = []
    best_touch = {FORWARD: D(-1), REVERSE: D(-1)}
    for b in books:
        latest[b.instrument_id] = b
        opps = scan.on_book(b)
        if len(latest) < 3:
            assert opps == []
            continue
        for way in (FORWARD, REVERSE):
            gross = touch_ratio(latest, way) - 1
            best_touch[way] = max(best_touch[way], gross)
            if gross > 0:
                positive_at_touch.append((b.event_id, gross))
        emitted.extend(opps)

    fwd_bps, rev_bps = (best_touch[w] * 10_000 for w in (FORWARD, REVERSE))
    net_factor = (1 - TAKER) ** 3
    print(f"\nPoloniex triangle, 30 s: best gross at the touch {fwd_bps:.3f} bp "
          f"(USDT>BTC>BCH>USDT), {rev_bps:.3f} bp the other way; best net "
          f"{((1 + best_touch[FORWARD]) * net_factor - 1) * 10_000:.3f} bp; "
          f"{len(emitted)} near misses emitted at 2 USDT")
    assert fwd_bps > 0 > rev_bps
    # one event per book update that left the triangle positive at the touch, forward only
    assert [o.causation_id for o in emitted] == [trigger for trigger, _ in positive_at_touch]
    assert len(emitted) > 0
    for opp, (_, gross) in zip(emitted, positive_at_touch, strict=True):
        assert opp.route is RouteType.THREE_HOP
        assert tuple((leg.instrument_id, leg.side) for leg in opp.legs) == FORWARD
        assert (opp.base, opp.quote) == ("USDT", "USDT")
        # at the touch the walk is linear: dust marked at the same rates, edges = touch edges
        assert opp.gross_edge_bps == pytest.approx(gross * 10_000, abs=D("0.0002"))
        assert opp.net_edge_bps == pytest.approx(((1 + gross) * net_factor - 1) * 10_000,
                                                 abs=D("0.0002"))
        assert opp.net_edge_bps < 0  # a near miss: 3 x 15.5 bp of fees eat it
    best = max(emitted, key=lambda o: o.gross_edge_bps)
    assert best.gross_edge_bps == pytest.approx(fwd_bps, abs=D("0.0002"))


@pytest.mark.parametrize("start", [D(10), D(100), D(500)])
def test_walking_the_books_never_beats_the_touch(books: list[OrderBookUpdated],
                                                 start: D) -> None:
    infos = {i.instrument_id: i for i in poloniex_infos()}
    latest: dict[str, OrderBookUpdated] = {}
    best = {FORWARD: (D(-10_000), D(-10_000)), REVERSE: (D(-10_000), D(-10_000))}
    for b in books:
        latest[b.instrument_id] = b
        if len(latest) < 3:
            continue
        for way in (FORWARD, REVERSE):
            hops = [Hop.from_book(latest[i], side, TAKER, infos[i]) for i, side in way]
            check = depth_check(hops, start)
            assert check is not None
            touch = touch_ratio(latest, way) - 1
            assert check.gross_edge_bps <= touch * 10_000 + D("0.0001")
            assert check.net_edge_bps < check.gross_edge_bps
            assert check.start_amount <= start
            gross, net = best[way]
            best[way] = (max(gross, check.gross_edge_bps), max(net, check.net_edge_bps))
    (fg, fn), (rg, rn) = best[FORWARD], best[REVERSE]
    print(f"\nPoloniex triangle at {start} USDT, best over 30 s: USDT>BTC>BCH>USDT gross "
          f"{fg:.3f} bp net {fn:.3f} bp; USDT>BCH>BTC>USDT gross {rg:.3f} bp net {rn:.3f} bp")


def test_book_helper_rejects_an_update_that_does_not_follow(tmp_path: Path) -> None:
    snap = {"channel": "book_lv2", "action": "snapshot", "data": [{
        "symbol": "BCH_BTC", "asks": [["0.00555", "0.01"]], "bids": [["0.00553", "1"]],
        "lastId": 9, "id": 10, "ts": 1661123517823}]}
    update = {"channel": "book_lv2", "action": "update", "data": [{
        "symbol": "BCH_BTC", "asks": [], "bids": [["0.00553", "0"]],
        "lastId": 11, "id": 12, "ts": 1661123517900}]}
    path = tmp_path / "gap.gz"
    path.write_bytes(gzip.compress(
        f"1.0: {json.dumps(snap)}\n2.0: {json.dumps(update)}\n".encode()))
    books = poloniex_books(path)
    first = next(books)
    assert (first.sequence, first.is_snapshot, first.bids) == (10, True, ((D("0.00553"), D(1)),))
    with pytest.raises(ValueError, match="update 11 does not follow 10"):
        next(books)
