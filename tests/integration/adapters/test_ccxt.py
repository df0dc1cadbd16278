"""The ccxt adapter against the local exchange simulator fed with recorded payloads.

Every test starts its own simulator (127.0.0.1, free port) and adapter, and stops both.
"""
from __future__ import annotations

import asyncio
import gzip
import json
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from libs.common.enums import InstrumentKind
from libs.common.errors import (
    ConfigurationError,
    OperationalError,
    RateLimited,
    TrifectaError,
)
from libs.common.events import BookGapDetected, Event, InstrumentInfo, OrderBookUpdated
from services.intake.adapters.base import BadMessage
from services.intake.domain.binance_book import BinanceBook
from tests.integration.adapters.contract import AdapterContract, ContractCase

ccxt = pytest.importorskip("ccxt")

from services.intake.adapters.ccxt import CcxtAdapter, CcxtVenueSettings, make_adapter  # noqa: E402
from services.intake.simulators.ccxt_server import (  # noqa: E402
    DATA_DIR,
    CcxtSimServer,
    Faults,
)

SPEED = 100.0  # recordings last ~30 s: ~0.3 s each here
PARSED = DATA_DIR / "ccxt_fixtures" / "ccxt_parsed"
RAW_REST = DATA_DIR / "ccxt_fixtures" / "raw_rest"
WS = DATA_DIR / "cryptofeed" / "master_format1"

# One recorded instrument per served venue (Kraken's XBT/CHF is BTC/CHF in ccxt).
STREAMED = {
    "BINANCE": "NKN/USDT.BINANCE",
    "KRAKEN": "BTC/CHF.KRAKEN",
    "OKX": "BTC/USDT.OKX",
    "COINBASE": "SKL/USD.COINBASE",
    "POLONIEX": "BTC/USDT.POLONIEX",
}


@asynccontextmanager
async def running(venue: str, faults: Faults | None = None, speed: float = SPEED,
                  **settings: Any) -> AsyncIterator[tuple[CcxtAdapter, CcxtSimServer]]:
    async with CcxtSimServer([venue], speed=speed, faults=faults) as server:
        adapter = make_adapter(CcxtVenueSettings(
            venue=venue, base_url=server.urls[venue], backoff_initial_s=0.01,
            backoff_max_s=0.05, **settings))
        try:
            await adapter.start()
            yield adapter, server
        finally:
            await adapter.close()


async def collect(adapter: CcxtAdapter, ids: list[str],
                  done: Callable[[list[Event], list[BadMessage]], bool],
                  timeout: float = 10.0) -> tuple[list[Event], list[BadMessage]]:
    events: list[Event] = []
    bad: list[BadMessage] = []

    async def run() -> None:
        async for item in adapter.stream(ids):
            (bad if isinstance(item, BadMessage) else events).append(item)
            if done(events, bad):
                return

    await asyncio.wait_for(run(), timeout)
    return events, bad


def books(events: list[Event]) -> list[OrderBookUpdated]:
    return [e for e in events if isinstance(e, OrderBookUpdated)]


def feed_done(server: CcxtSimServer, venue: str, key: str) -> bool:
    feed = server.sims[venue].feeds[key]
    return feed.sent == len(feed.messages)


# ---- the shared contract, for every served venue ------------------------------------------

class TestCcxtAdapterContract(AdapterContract):
    @pytest.fixture(params=sorted(STREAMED))
    def venue(self, request: pytest.FixtureRequest) -> str:
        return request.param

    @pytest.fixture
    async def adapter(self, venue: str) -> AsyncIterator[CcxtAdapter]:
        async with running(venue) as (adapter, _):
            yield adapter

    @pytest.fixture
    def contract(self, venue: str) -> ContractCase:
        return ContractCase([STREAMED[venue]], min_events=10, kinds=frozenset({"md.book"}),
                            timeout_s=10.0)


# ---- golden: our markets and books equal ccxt's recorded parse of the same raw bodies -----

def golden(name: str) -> dict[str, Any]:
    return json.loads((PARSED / f"{name}_ccxt_parsed.json").read_text())


def _dec(x: Any) -> Decimal | None:
    return None if x is None else Decimal(str(x))


def _positive(x: Any) -> Decimal | None:
    d = _dec(x)
    return d if d is not None and d > 0 else None


@pytest.mark.parametrize(("venue", "parsed"), [("BINANCE", "binance"), ("KRAKEN", "kraken"),
                                               ("OKX", "okx")])
async def test_markets_equal_ccxts_recorded_parse(venue: str, parsed: str) -> None:
    expected = golden(parsed)["markets_subset"]
    async with running(venue) as (adapter, _):
        infos = {i.instrument_id: i for i in (await adapter.instruments()).instruments}
    for symbol, m in expected.items():
        info = infos[f"{symbol}.{venue}"]
        assert info == InstrumentInfo(
            instrument_id=f"{symbol}.{venue}", venue=venue, symbol=m["id"], base=m["base"],
            quote=m["quote"], instrument_kind=InstrumentKind.SPOT,
            active=m["active"] is not False, tick_size=_dec(m["precision"]["price"]),
            lot_size=_dec(m["precision"]["amount"]),
            min_quantity=_positive(m["limits"]["amount"]["min"]),
            min_notional=_positive(m["limits"]["cost"]["min"]),
            taker_fee=_dec(m["taker"]), maker_fee=_dec(m["maker"])), symbol


async def test_binance_rest_books_equal_ccxts_recorded_parse_and_the_raw_decimals() -> None:
    expected = golden("binance")["order_books"]
    raw = json.loads((RAW_REST / "binance__api_v3_depth_symbol_NKNUSDT_limit_1000.json")
                     .read_text())
    async with running("BINANCE", depth=1000) as (adapter, _):
        ours = {s: await adapter.snapshot(f"{s}.BINANCE", limit=1000) for s in expected}
    for symbol, book in expected.items():
        assert ours[symbol].sequence == book["nonce"]
        assert ours[symbol].bids == tuple((_dec(p), _dec(s)) for p, s in book["bids"])
        assert ours[symbol].asks == tuple((_dec(p), _dec(s)) for p, s in book["asks"])
        assert len(ours[symbol].bids) == len(book["bids"]) > 0
    # and the venue's own strings: no value lost on the way through ccxt's floats
    assert ours["NKN/USDT"].bids == tuple((Decimal(p), Decimal(s)) for p, s in raw["bids"])
    assert ours["NKN/USDT"].asks == tuple((Decimal(p), Decimal(s)) for p, s in raw["asks"])


# ---- books: streams match independent rebuilds, checks fire, resyncs recover -------------

def _binance_recording(symbol: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    snapshot = json.loads((RAW_REST / f"binance__api_v3_depth_symbol_{symbol}_limit_1000.json")
                          .read_text())
    diffs = []
    with gzip.open(WS / "BINANCE.ws.1.0.gz", "rt") as fh:
        for line in fh:
            head, _, body = line.partition(": ")
            if head[:1].isdigit() and f'"{symbol.lower()}@depth@100ms"' in body:
                diffs.append(json.loads(body)["data"])
    return snapshot, diffs


def _binance_tops_by_update_id(symbol: str, depth: int = 20) -> dict[int, Any]:
    """Top of book after each diff, rebuilt by intake's own Binance book (not ccxt)."""
    snapshot, diffs = _binance_recording(symbol)
    book = BinanceBook(f"X.{symbol}", "BINANCE", symbol, "spot", base="X", quote="Y",
                       instrument_kind=InstrumentKind.SPOT)

    def lv(levels: list[list[str]]) -> list[tuple[Decimal, Decimal]]:
        return [(Decimal(p), Decimal(q)) for p, q in levels]

    book.apply_snapshot(snapshot["lastUpdateId"], lv(snapshot["bids"]), lv(snapshot["asks"]))
    tops = {}
    for d in diffs:
        book.apply_diff(d["U"], d["u"], None, lv(d["b"]), lv(d["a"]))
        if book.has_book:
            tops[book.last_update_id] = book.top(depth)
    return tops


async def test_binance_stream_books_equal_an_independent_rebuild_of_the_recording() -> None:
    tops = _binance_tops_by_update_id("NKNUSDT")
    final = tops[max(tops)]
    async with running("BINANCE") as (adapter, _):
        events, bad = await collect(
            adapter, ["NKN/USDT.BINANCE"],
            lambda ev, _: bool(ev) and (ev[-1].bids, ev[-1].asks) == final)
        stats = adapter.stats
    published = books(events)
    assert len(published) > 10 and not bad
    for e in published:
        assert (e.bids, e.asks) == tops[e.sequence], e.sequence
    assert published[0].is_snapshot and not any(e.is_snapshot for e in published[1:])
    assert (stats.gaps, stats.resyncs, stats.checksum_failures) == (0, 0, 0)


async def test_binance_dropped_diff_is_a_gap_resynced_from_a_fresh_snapshot() -> None:
    tops = _binance_tops_by_update_id("NKNUSDT")
    # The 3rd diff after ccxt asked for its (rate-limited) REST snapshot never arrives.
    faults = Faults(drop_after_rest={"nknusdt": 3})
    async with running("BINANCE", faults, speed=20) as (adapter, _):
        events, _ = await collect(
            adapter, ["NKN/USDT.BINANCE"],
            lambda ev, _: any(isinstance(e, BookGapDetected) for e in ev)
            and isinstance(ev[-1], OrderBookUpdated) and not ev[-1].is_snapshot)
        stats = adapter.stats
    assert (stats.gaps, stats.resyncs, stats.checksum_failures) == (1, 1, 0)
    gaps = [e for e in events if isinstance(e, BookGapDetected)]
    assert len(gaps) == 1 and gaps[0].instrument_id == "NKN/USDT.BINANCE"
    after = books(events[events.index(gaps[0]):])
    assert after[0].is_snapshot and after[0].sequence >= gaps[0].expected_from
    for e in books(events):  # before and after the gap, every book is the exact one
        assert (e.bids, e.asks) == tops[e.sequence], e.sequence


def server_top(server: CcxtSimServer, venue: str, key: str, depth: int = 20) -> tuple[Any, Any]:
    """The simulator's book of `key` (what the venue holds), top `depth`, as Decimals."""
    book = server.sims[venue].feeds[key].book
    return tuple(tuple((Decimal(lv[0]), Decimal(lv[1])) for lv in book.top(side, depth))
                 for side in ("bids", "asks"))


def gap_then_book(venue: str, key: str, server_of: Callable[[], CcxtSimServer]
                  ) -> Callable[[list[Event], list[BadMessage]], bool]:
    """Done when a gap was published, a book followed it, and the timeline has ended."""
    def done(ev: list[Event], _: list[BadMessage]) -> bool:
        gap = next((i for i, e in enumerate(ev) if isinstance(e, BookGapDetected)), None)
        if gap is None or not books(ev[gap:]) or not feed_done(server_of(), venue, key):
            return False
        last = books(ev)[-1]
        return (last.bids, last.asks) == server_top(server_of(), venue, key)
    return done


async def test_kraken_recorded_checksums_all_verify_over_two_whole_pair_streams() -> None:
    keys = ("BTC/CHF", "ADA/BTC")  # ccxt spaces Kraken subscriptions by its rate limit
    async with running("KRAKEN") as (adapter, server):
        await collect(adapter, [f"{k}.KRAKEN" for k in keys],
                      lambda *_: all(feed_done(server, "KRAKEN", k) for k in keys))
        stats = adapter.stats
    assert stats.checksum_failures == 0 and stats.resyncs == 0
    assert stats.extra["book_updates"] > 100


@pytest.mark.parametrize(("venue", "key", "iid"), [("KRAKEN", "BTC/CHF", "BTC/CHF.KRAKEN"),
                                                   ("OKX", "BTC-USDT", "BTC/USDT.OKX")])
async def test_wrong_checksum_drops_the_book_and_resubscribes(venue: str, key: str,
                                                               iid: str) -> None:
    faults = Faults(bad_checksum={key: frozenset({10})})
    async with running(venue, faults) as (adapter, server):
        events, _ = await collect(adapter, [iid], gap_then_book(venue, key, lambda: server))
        stats = adapter.stats
    assert (stats.checksum_failures, stats.resyncs, stats.gaps) == (1, 1, 0)
    gap = next(e for e in events if isinstance(e, BookGapDetected))
    assert "checksum" in gap.detail
    after = books(events[events.index(gap):])
    assert after[0].is_snapshot and after[0].sequence > books(events)[0].sequence


async def test_poloniex_id_break_is_a_gap_and_the_book_resyncs() -> None:
    faults = Faults(drop={"BTC_USDT": frozenset({5})})
    async with running("POLONIEX", faults) as (adapter, server):
        events, _ = await collect(adapter, ["BTC/USDT.POLONIEX"],
                                  gap_then_book("POLONIEX", "BTC_USDT", lambda: server))
        stats = adapter.stats
    assert (stats.gaps, stats.resyncs, stats.checksum_failures) == (1, 1, 0)
    gap = next(e for e in events if isinstance(e, BookGapDetected))
    assert books(events[events.index(gap):])[0].is_snapshot


async def test_lost_connection_reconnects_with_backoff_and_books_resume() -> None:
    async with running("OKX", Faults(close_after=15)) as (adapter, server):
        events, _ = await collect(adapter, ["BTC/USDT.OKX"],
                                  gap_then_book("OKX", "BTC-USDT", lambda: server))
        stats = adapter.stats
        connections = server.sims["OKX"].connections
    assert stats.reconnects == 1 and connections == 2
    gap = next(e for e in events if isinstance(e, BookGapDetected))
    assert "connection lost" in gap.detail
    assert books(events[events.index(gap):])[0].is_snapshot


async def test_a_frame_that_is_not_json_becomes_a_bad_message_and_books_keep_flowing() -> None:
    async with running("KRAKEN", Faults(garbage_after_subscribe=True)) as (adapter, _):
        events, bad = await collect(adapter, ["BTC/CHF.KRAKEN"],
                                    lambda ev, b: bool(b) and len(ev) >= 5)
        stats = adapter.stats
    assert [b.payload for b in bad] == ["this frame is not JSON"]
    assert bad[0].venue == "KRAKEN" and "JSON" in bad[0].reason
    assert stats.bad_messages == 1 and len(books(events)) >= 5


async def test_coinbase_and_kraken_untimed_snapshots_wait_for_the_venues_time() -> None:
    for venue in ("COINBASE", "KRAKEN"):
        async with running(venue) as (adapter, _):
            events, _ = await collect(adapter, [STREAMED[venue]], lambda ev, _: len(ev) >= 3)
            assert adapter.stats.extra["untimed_books_held"] == 1
        first = books(events)[0]
        assert first.is_snapshot and first.ts_event > 1_600_000_000 * 10**9


# ---- markets metadata, errors -------------------------------------------------------------

async def test_instruments_are_published_once_then_only_on_change() -> None:
    async with running("OKX") as (adapter, _):
        first = await adapter.instruments_if_changed()
        second = await adapter.instruments_if_changed()
    assert first is not None and len(first.instruments) == 513
    assert second is None


async def test_an_instrument_the_venue_does_not_list_is_a_configuration_error() -> None:
    async with running("BINANCE") as (adapter, _):
        with pytest.raises(ConfigurationError, match="NOPE/USDT"):
            await collect(adapter, ["NOPE/USDT.BINANCE"], lambda *_: True)


async def test_rate_limit_answer_becomes_rate_limited() -> None:
    async with CcxtSimServer(["BINANCE"], faults=Faults(
            rest_status={"/api/v3/exchangeInfo": 429})) as server:
        adapter = make_adapter(CcxtVenueSettings(venue="BINANCE",
                                                 base_url=server.urls["BINANCE"]))
        try:
            with pytest.raises(RateLimited) as info:
                await adapter.start()
        finally:
            await adapter.close()
    assert isinstance(info.value.__cause__, ccxt.BaseError)
    assert adapter.stats.rate_limited == 1


async def test_bitstamp_markets_cannot_load_from_the_recorded_endpoint() -> None:
    # ccxt 4.5 reads /api/v2/markets/; the recording has the older trading-pairs-info only.
    async with CcxtSimServer(["BITSTAMP"]) as server:
        adapter = make_adapter(CcxtVenueSettings(venue="BITSTAMP",
                                                 base_url=server.urls["BITSTAMP"]))
        try:
            with pytest.raises(TrifectaError) as info:
                await adapter.instruments()
        finally:
            await adapter.close()
    assert type(info.value) is OperationalError  # ccxt's ExchangeError on the 404, translated
    assert isinstance(info.value.__cause__, ccxt.BaseError)
    assert "/api/v2/markets/" in str(info.value)  # the path ccxt asked for


async def test_server_serves_each_recorded_rest_body_unchanged() -> None:
    import aiohttp

    index = json.loads((RAW_REST / "INDEX.json").read_text())
    venue_of = {"binance": "BINANCE", "kraken": "KRAKEN", "okx": "OKX", "poloniex": "POLONIEX",
                "coinbasepro_legacy": "COINBASE", "bitstamp": "BITSTAMP"}
    async with CcxtSimServer(sorted(set(venue_of.values()))) as server, \
            aiohttp.ClientSession() as http:
        for entry in index:
            url = entry["url"].split("/", 3)[3]
            async with http.get(f"{server.urls[venue_of[entry['exchange']]]}/{url}") as r:
                body = await r.read()
            raw = (RAW_REST / entry["file"]).read_bytes()
            if entry["file"].endswith(".gz"):
                raw = gzip.decompress(raw)
            assert r.status == 200 and body == raw, entry["file"]



async def test_simulator_runs_as_a_module_and_stops_on_sigterm() -> None:
    import aiohttp

    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.intake.simulators.ccxt_server", "--venues", "KRAKEN",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        cwd=Path(__file__).resolve().parents[3])
    try:
        assert proc.stdout is not None
        urls = json.loads(await asyncio.wait_for(proc.stdout.readline(), 10))
        async with aiohttp.ClientSession() as http, \
                http.get(f"{urls['KRAKEN']}/0/public/AssetPairs") as r:
            body = await r.read()
        assert body == (RAW_REST / "kraken__0_public_AssetPairs.json").read_bytes()
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 10) == 0
