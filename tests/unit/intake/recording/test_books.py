"""Poloniex and Bitstamp exact books: hand-made sequences, then the real captures."""
from __future__ import annotations

import asyncio
import gzip
import json
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from libs.common.clock import TestClock
from libs.common.events import BookGapDetected, OrderBookUpdated
from services.intake.domain.records import BadLine
from services.intake.recording.bitstamp_book import BitstampMessages
from services.intake.recording.engine import replay
from services.intake.recording.poloniex_book import PoloniexMessages
from services.intake.recording.records import Skipped
from services.intake.recording.sinks import MemorySink
from services.intake.recording.symbols import SymbolTable
from tests.unit.intake.recording.helpers import CRYPTOFEED, cf_json, rest, ws

D = Decimal


def polo(action: str, last_id: int, upd_id: int, *, bids: list[list[str]] | None = None,
         asks: list[list[str]] | None = None, symbol: str = "BTC_USDT", ts: int = 1_000) -> Any:
    return {"channel": "book_lv2", "action": action, "data": [{
        "symbol": symbol, "createTime": ts, "ts": ts, "lastId": last_id, "id": upd_id,
        "bids": bids or [], "asks": asks or []}]}


def polo_parser() -> PoloniexMessages:
    return PoloniexMessages(TestClock(5), SymbolTable())


def test_poloniex_snapshot_then_following_updates_build_the_book() -> None:
    p = polo_parser()
    (snap,) = p.on_message(ws("POLONIEX", polo("snapshot", 99, 100, bids=[["10", "1"], ["9", "2"]],
                                               asks=[["11", "1"], ["12", "3"]])))
    assert isinstance(snap, OrderBookUpdated) and snap.is_snapshot
    assert (snap.instrument_id, snap.sequence, snap.ts_event) == ("BTC/USDT.POLONIEX", 100,
                                                                  1_000_000_000)
    (upd,) = p.on_message(ws("POLONIEX", polo("update", 100, 101, bids=[["10.5", "4"]],
                                              asks=[["11", "0"]], ts=2_000)))
    assert isinstance(upd, OrderBookUpdated) and not upd.is_snapshot
    assert upd.bids == ((D("10.5"), D(4)), (D(10), D(1)), (D(9), D(2)))
    assert upd.asks == ((D(12), D(3)),)
    assert (upd.sequence, upd.ts_event) == (101, 2_000_000_000)


def test_poloniex_update_that_skips_an_id_is_a_gap_and_the_book_goes_dark() -> None:
    p = polo_parser()
    p.on_message(ws("POLONIEX", polo("snapshot", 99, 100, bids=[["10", "1"]], asks=[["11", "1"]])))
    p.on_message(ws("POLONIEX", polo("update", 100, 101, bids=[["10", "2"]])))
    (gap,) = p.on_message(ws("POLONIEX", polo("update", 102, 103, bids=[["10", "3"]])))
    assert isinstance(gap, BookGapDetected)
    assert (gap.instrument_id, gap.expected_from, gap.got_from) == ("BTC/USDT.POLONIEX", 102, 103)
    assert p.on_message(ws("POLONIEX", polo("update", 103, 104, bids=[["10", "4"]]))) == []
    (resync,) = p.on_message(ws("POLONIEX", polo("snapshot", 199, 200, bids=[["10", "9"]],
                                                 asks=[["11", "1"]])))
    assert isinstance(resync, OrderBookUpdated) and resync.bids == ((D(10), D(9)),)


def test_poloniex_stale_updates_are_dropped_and_early_ones_wait_for_the_snapshot() -> None:
    p = polo_parser()
    assert p.on_message(ws("POLONIEX", polo("update", 98, 99, bids=[["8", "1"]]))) == []
    assert p.on_message(ws("POLONIEX", polo("update", 99, 100, bids=[["8", "2"]]))) == []
    assert p.on_message(ws("POLONIEX", polo("update", 100, 101, bids=[["8", "3"]]))) == []
    (snap,) = p.on_message(ws("POLONIEX", polo("snapshot", 99, 100, bids=[["10", "1"]],
                                               asks=[["11", "1"]])))
    # 99 is older than the snapshot (dropped), 100 is the snapshot itself (dropped), 101 applies.
    assert snap.bids == ((D(10), D(1)), (D(8), D(3)))  # type: ignore[union-attr]
    stats = p.books.pipelines["BTC_USDT"].stats["BTC/USDT.POLONIEX"]
    assert (stats.diffs_dropped, stats.diffs_applied, stats.gaps) == (2, 1, 0)
    assert p.on_message(ws("POLONIEX", polo("update", 99, 100, bids=[["10", "7"]]))) == []


def test_poloniex_invalid_messages_are_bad_lines_with_reasons() -> None:
    p = polo_parser()
    cases = {
        "not json {": "invalid JSON",
        json.dumps({"channel": "book_lv2", "action": "resend", "data": []}): "action",
        json.dumps(polo("update", 5, 5)): "greater than lastId",
        json.dumps(polo("update", 5, 6, bids=[["-1", "2"]])): "out of range",
        json.dumps(polo("update", 5, 6, bids=[["x", "2"]])): "not a number",
    }
    for n, (payload, reason) in enumerate(cases.items(), start=1):
        (out,) = p.on_message(ws("POLONIEX", payload, line_no=n))
        assert isinstance(out, BadLine) and reason in out.reason, (payload, out)
        assert out.describe().startswith(f"t.rec:{n}: ")
    (skip,) = p.on_message(ws("POLONIEX", {"channel": "trades", "data": []}))
    assert isinstance(skip, Skipped)


BS_URL = "https://www.bitstamp.net/api/v2/order_book/ethusd"


def bs_diff(micro: int, bids: list[list[str]] = (), asks: list[list[str]] = ()) -> Any:  # type: ignore[assignment]
    return {"event": "data", "channel": "diff_order_book_ethusd",
            "data": {"timestamp": str(micro // 10**6), "microtimestamp": str(micro),
                     "bids": list(bids), "asks": list(asks)}}


def bs_snapshot(micro: int, bids: list[list[str]], asks: list[list[str]]) -> Any:
    return {"timestamp": str(micro // 10**6), "microtimestamp": str(micro), "bids": bids,
            "asks": asks}


def bs_parser() -> BitstampMessages:
    return BitstampMessages(TestClock(5), SymbolTable())


def test_bitstamp_diffs_older_than_the_snapshot_are_dropped_newer_ones_applied() -> None:
    p = bs_parser()
    assert p.on_message(ws("BITSTAMP", bs_diff(1_000, [["100", "1"]]))) == []  # waits
    assert p.on_message(ws("BITSTAMP", bs_diff(3_000, [["99", "5"]]))) == []
    (snap,) = p.on_message(rest("BITSTAMP", BS_URL, bs_snapshot(2_000, [["100", "2"]],
                                                                  [["101", "1"]])))
    assert isinstance(snap, OrderBookUpdated) and snap.is_snapshot
    assert snap.instrument_id == "ETH/USD.BITSTAMP"
    assert snap.bids == ((D(100), D(2)), (D(99), D(5)))  # 1_000 dropped, 3_000 applied
    assert (snap.sequence, snap.ts_event) == (3_000, 3_000_000)
    (upd,) = p.on_message(ws("BITSTAMP", bs_diff(4_000, asks=[["101", "0"], ["102", "7"]])))
    assert upd.asks == ((D(102), D(7)),) and upd.sequence == 4_000  # type: ignore[union-attr]
    assert p.on_message(ws("BITSTAMP", bs_diff(4_000, asks=[["102", "7"]]))) == []  # duplicate


def test_bitstamp_out_of_order_diff_is_a_gap() -> None:
    p = bs_parser()
    p.on_message(rest("BITSTAMP", BS_URL, bs_snapshot(2_000, [["100", "2"]], [["101", "1"]])))
    p.on_message(ws("BITSTAMP", bs_diff(5_000, [["100", "3"]])))
    (gap,) = p.on_message(ws("BITSTAMP", bs_diff(4_000, [["100", "4"]])))
    assert isinstance(gap, BookGapDetected) and "out of order" in gap.detail
    assert (gap.expected_from, gap.got_from) == (5_001, 4_000)
    assert p.on_message(ws("BITSTAMP", bs_diff(6_000, [["100", "5"]]))) == []  # dark until...
    (snap,) = p.on_message(rest("BITSTAMP", BS_URL, bs_snapshot(5_500, [["100", "9"]],
                                                                  [["101", "1"]])))
    assert snap.bids == ((D(100), D(5)),)  # ...a new snapshot, then 6_000 applied  # type: ignore[union-attr]


def test_bitstamp_diff_that_crosses_the_book_is_a_gap() -> None:
    p = bs_parser()
    p.on_message(rest("BITSTAMP", BS_URL, bs_snapshot(2_000, [["100", "2"]], [["101", "1"]])))
    (gap,) = p.on_message(ws("BITSTAMP", bs_diff(3_000, [["102", "1"]])))
    assert isinstance(gap, BookGapDetected) and "crossed" in gap.detail
    assert gap.ts_event == 3_000_000


def test_bitstamp_bad_messages_are_bad_lines() -> None:
    p = bs_parser()
    (b1,) = p.on_message(ws("BITSTAMP", {"event": "data", "channel": "diff_order_book_ethusd",
                                         "data": {"bids": [], "asks": []}}))
    assert isinstance(b1, BadLine) and "microtimestamp" in b1.reason
    (b2,) = p.on_message(rest("BITSTAMP", BS_URL, {"microtimestamp": "5", "bids": "x",
                                                   "asks": []}))
    assert isinstance(b2, BadLine) and "bids" in b2.reason


def replay_files(*names: str) -> MemorySink:
    sink = MemorySink()
    asyncio.run(replay([CRYPTOFEED / n for n in names], 0, sink, clock=TestClock(1)))
    return sink


def test_poloniex_real_capture_gives_the_triangle_with_honest_gap_count() -> None:
    sink = replay_files("POLONIEX.0.gz", "POLONIEX.ws.1.0.gz")
    books = [e for e in sink.events if isinstance(e, OrderBookUpdated)]
    gaps = [e for e in sink.events if isinstance(e, BookGapDetected)]
    # Independent check of the lastId/id chain, straight from the file.
    expected_gaps, updates, snapshots = 0, Counter(), Counter()
    last: dict[str, int] = {}
    for msg in cf_json("POLONIEX.ws.1.0.gz"):
        if msg.get("channel") != "book_lv2" or "action" not in msg:
            continue
        for item in msg["data"]:
            if msg["action"] == "snapshot":
                snapshots[item["symbol"]] += 1
            else:
                updates[item["symbol"]] += 1
                if item["lastId"] != last[item["symbol"]]:
                    expected_gaps += 1
            last[item["symbol"]] = item["id"]
    assert len(gaps) == expected_gaps
    assert sum(1 for b in books if b.is_snapshot) == sum(snapshots.values())
    assert len(books) <= sum(snapshots.values()) + sum(updates.values())
    for b in books:
        assert b.bids[0][0] < b.asks[0][0], b.instrument_id
        assert [p for p, _ in b.bids] == sorted((p for p, _ in b.bids), reverse=True)
        assert len(b.bids) <= 20 and len(b.asks) <= 20
    triangle = {"BTC/USDT.POLONIEX", "BCH/USDT.POLONIEX", "BCH/BTC.POLONIEX"}
    assert triangle <= {b.instrument_id for b in books}
    per = Counter(b.instrument_id for b in books)
    for iid in triangle:
        symbol = iid.split(".")[0].replace("/", "_")
        assert snapshots[symbol] == 1
        assert 1 < per[iid] <= 1 + updates[symbol]


def test_bitstamp_real_capture_builds_uncrossed_books_and_counts_gaps_honestly() -> None:
    sink = replay_files("BITSTAMP.0.gz", "BITSTAMP.http.0.0.gz", "BITSTAMP.ws.1.0.gz")
    books = [e for e in sink.events if isinstance(e, OrderBookUpdated)]
    gaps = [e for e in sink.events if isinstance(e, BookGapDetected)]
    snaps: dict[str, int] = {}
    for line in gzip.open(CRYPTOFEED / "BITSTAMP.http.0.0.gz", "rt"):
        if " -> " in line:
            url, _, rest_ = line.partition(" -> ")
            snaps[url.rsplit("/", 1)[-1]] = int(json.loads(rest_.split(": ", 1)[1])
                                                ["microtimestamp"])
    newer: Counter[str] = Counter()
    out_of_order = 0
    last: dict[str, int] = defaultdict(int)
    for msg in cf_json("BITSTAMP.ws.1.0.gz"):
        if msg.get("event") == "data" and msg["channel"].startswith("diff_order_book_"):
            pair = msg["channel"].removeprefix("diff_order_book_")
            micro = int(msg["data"]["microtimestamp"])
            if micro > snaps[pair]:
                newer[pair] += 1
                out_of_order += micro < last[pair]
                last[pair] = max(last[pair], micro)
    assert sum(1 for b in books if b.is_snapshot) == len(snaps)
    crossed_gaps = [g for g in gaps if "crossed" in g.detail]
    assert len(gaps) - len(crossed_gaps) == out_of_order
    for b in books:
        assert b.bids[0][0] < b.asks[0][0], b.instrument_id
    emitted = Counter(b.instrument_id.split(".")[0].replace("/", "").lower() for b in books
                      if not b.is_snapshot)
    assert set(emitted) <= set(newer)
    for pair, n in emitted.items():
        assert n <= newer[pair]  # a diff below the top 20 publishes nothing
