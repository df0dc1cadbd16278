"""The exchange simulator's recorded timelines and books (no sockets)."""
from __future__ import annotations

import gzip
import json

from services.intake.simulators.ccxt_server import (
    DATA_DIR,
    BinanceSim,
    Faults,
    KrakenSim,
    OkxSim,
    ServerBook,
    kraken_v2_symbol,
    read_received,
)

WS = DATA_DIR / "cryptofeed" / "master_format1"


def test_received_lines_skip_connects_and_sent_messages() -> None:
    lines = gzip.open(WS / "BINANCE.ws.1.0.gz", "rt").read().splitlines()
    received = read_received(WS / "BINANCE.ws.1.0.gz")
    assert len(received) == sum(1 for ln in lines if ln[:1].isdigit())
    assert all(json.loads(r.text) for r in received)
    assert received[0].ts == 1633998512.0633569


def test_kraken_v1_pairs_get_their_v2_names() -> None:
    assert kraken_v2_symbol("XBT/CHF") == "BTC/CHF"
    assert kraken_v2_symbol("ADA/XBT") == "ADA/BTC"
    assert kraken_v2_symbol("XDG/USD") == "DOGE/USD"
    assert kraken_v2_symbol("ETH/CHF") == "ETH/CHF"


def test_kraken_v2_rewrap_keeps_every_level_text_and_checksum_of_the_recording() -> None:
    sim = KrakenSim(DATA_DIR, 1.0, Faults())
    rewrapped = [m.data for f in sim.feeds.values() for m in f.messages]
    v1 = [json.loads(r.text) for r in read_received(WS / "KRAKEN.ws.50.0.gz")]
    v1 = [m for m in v1 if isinstance(m, list)]
    assert len(rewrapped) == len(v1) == 4279
    levels_v1 = sorted((m[-1], lv[0], lv[1]) for m in v1 for p in m[1:-2]
                       for k in ("as", "bs", "a", "b") for lv in p.get(k, []))
    levels_v2 = sorted((m["data"][0]["symbol"].replace("BTC", "XBT"), lv["price"], lv["qty"])
                       for m in rewrapped for side in ("bids", "asks")
                       for lv in m["data"][0][side])
    assert levels_v1 == levels_v2
    sums_v1 = sorted(int(p["c"]) for m in v1 for p in m[1:-2] if "c" in p)
    sums_v2 = sorted(m["data"][0]["checksum"] for m in rewrapped if m["type"] == "update")
    assert sums_v1 == sums_v2 and len(sums_v1) == 4269


def test_server_book_keeps_venue_text_and_deletes_zero_sizes() -> None:
    book = ServerBook()
    book.set("bids", ["10.50", "1.0"])
    book.set("bids", ["10.60", "2"])
    book.set("asks", ["10.70", "3", "0", "1"])
    book.set("bids", ["10.50", "0.000"])
    assert book.top("bids") == [["10.60", "2"]]
    assert book.top("asks", 1) == [["10.70", "3", "0", "1"]]
    for p in ("10.80", "10.90"):
        book.set("asks", [p, "1"])
    book.truncate(2)
    assert [lv[0] for lv in book.top("asks")] == ["10.70", "10.80"]


def test_okx_snapshot_made_mid_timeline_carries_the_checksum_okx_sent_there() -> None:
    sim = OkxSim(DATA_DIR, 1.0, Faults())
    feed = sim.feeds["BTC-USDT"]
    for msg in feed.messages[:30]:
        sim.apply(feed, msg)
    made = sim.snapshot_message(feed)["data"][0]
    assert made["checksum"] == feed.messages[29].data["data"][0]["checksum"]


def test_binance_depth_is_the_recorded_body_until_the_stream_has_moved_past_it() -> None:
    sim = BinanceSim(DATA_DIR, 1.0, Faults())
    recorded = sim.rest("/api/v3/depth", {"symbol": "NKNUSDT", "limit": "1000"})
    raw = (DATA_DIR / "ccxt_fixtures" / "raw_rest" /
           "binance__api_v3_depth_symbol_NKNUSDT_limit_1000.json").read_bytes()
    assert recorded.body == raw
    feed = sim.feeds["nknusdt"]
    sim.prepare(feed)
    for msg in feed.messages[:10]:
        sim.apply(feed, msg)
    now = json.loads(sim.rest("/api/v3/depth", {"symbol": "NKNUSDT", "limit": "5"}).text)
    assert now["lastUpdateId"] == max(m.data["u"] for m in feed.messages[:10])
    assert len(now["bids"]) == len(now["asks"]) == 5
    unknown = sim.rest("/api/v3/depth", {"symbol": "NOPE", "limit": "5"})
    assert unknown.status == 400
