"""Every recording in data/recorded/ through the scanner's domain objects, without error.

Each folder of recordings (files recorded together share a timeline: the Binance BTC window,
the cryptofeed captures, each forex source) is replayed by intake's own replay engine into
memory, then every book, gap, bar and markets list goes to fresh scanners built as the service
builds them: `CrossVenueArbitrage` and `MultiHopArbitrage` with the default `FeeSchedule`
(which has POLONIEX), and `ForexSignalScanner`. Opportunities are counted per folder and per
triggering venue, and the table is printed (shown without -s).

Markets metadata comes from the recorded REST fixtures, parsed here: Binance from ccxt's
parsed markets (through intake's ccxt parser), Poloniex from its `/markets` body. They were
captured on other dates than the books; a rule that changed in between is a known gap. There
is no recorded metadata for Binance USD-M / COIN-M: those legs are priced unrounded.
Bitstamp has no default fee rate (libs/common/venues.py), so its markets are not given to the
multi-hop scanner (it would refuse an unpriced venue) and its books are only seen by the
two-leg scanner, which prices BTC only.
"""
from __future__ import annotations

import gzip
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal as D
from pathlib import Path

import pytest

from libs.common.clock import TestClock
from libs.common.enums import InstrumentKind
from libs.common.events import (
    BarClosed,
    BookGapDetected,
    Event,
    InstrumentsUpdated,
    OrderBookUpdated,
)
from libs.common.events.market import InstrumentInfo, QuoteTick
from libs.common.events.opportunity import ArbitrageOpportunityDetected
from services.intake.adapters.ccxt.parsing import instruments_of
from services.intake.adapters.recorded import DEFAULT_DATA_DIR
from services.intake.recording import MemorySink, replay
from services.intake.recording.readers import plan
from services.scanner.domain.arbitrage import CrossVenueArbitrage
from services.scanner.domain.fees import FeeSchedule
from services.scanner.domain.forex import ForexSignalScanner
from services.scanner.domain.multihop import MultiHopArbitrage

pytestmark = pytest.mark.integration

REST = DEFAULT_DATA_DIR / "ccxt_fixtures"
T_META = 1  # markets lists are handed over before any book


def binance_instruments() -> InstrumentsUpdated:
    body = json.loads((REST / "ccxt_parsed" / "binance_ccxt_parsed.json").read_text())
    subset = body["markets_subset"]
    markets = list(subset.values()) if isinstance(subset, dict) else subset
    return InstrumentsUpdated(ts_event=T_META, venue="BINANCE",
                              instruments=instruments_of("BINANCE", markets))


def poloniex_instruments() -> InstrumentsUpdated:
    """Lot 10^-quantityScale, tick 10^-priceScale, minQuantity and minAmount (quote)."""
    raw = gzip.decompress((REST / "raw_rest" / "poloniex__markets.json.gz").read_bytes())
    infos = []
    for m in json.loads(raw):
        lim = m["symbolTradeLimit"]
        base, quote = m["baseCurrencyName"], m["quoteCurrencyName"]
        infos.append(InstrumentInfo(
            instrument_id=f"{base}/{quote}.POLONIEX", venue="POLONIEX", symbol=m["symbol"],
            base=base, quote=quote, instrument_kind=InstrumentKind.SPOT,
            active=m["state"] == "NORMAL",
            tick_size=D(1).scaleb(-int(lim["priceScale"])),
            lot_size=D(1).scaleb(-int(lim["quantityScale"])),
            min_quantity=D(lim["minQuantity"]) or None,
            min_notional=D(lim["minAmount"]) or None))
    return InstrumentsUpdated(ts_event=T_META, venue="POLONIEX", instruments=tuple(infos))


@dataclass
class Row:
    """Counts for one (folder, triggering venue)."""

    books: int = 0
    bars: int = 0
    quotes: int = 0  # replayed; no scanner reads quotes (the decision service does)
    arb: int = 0
    arb_gross_pos: int = 0
    arb_net_pos: int = 0
    cycles: int = 0
    cycles_gross_pos: int = 0
    cycles_net_pos: int = 0
    fx: int = 0
    best_arb_bps: D | None = None
    seen: set[str] = field(default_factory=set)


@dataclass
class FolderResult:
    rows: dict[str, Row]
    arb_stats: tuple[int, int, int]  # emitted, below minimum, stale
    cycle_stats: str
    opportunities: list[ArbitrageOpportunityDetected]


def folders() -> dict[str, list[Path]]:
    """Recording files by folder (relative to data/recorded), as the replay engine plans them."""
    the_plan = plan([DEFAULT_DATA_DIR], clock=TestClock())
    out: dict[str, list[Path]] = defaultdict(list)
    for reader in the_plan.readers:
        rel = reader.paths[0].resolve().parent.relative_to(DEFAULT_DATA_DIR.resolve())
        out[rel.as_posix()].extend(reader.paths)
    return dict(sorted(out.items()))


async def run_folder(paths: list[Path]) -> FolderResult:
    sink = MemorySink()
    summary = await replay(paths, speed=0, out=sink, clock=TestClock())
    assert summary.bad_lines == []
    clock = TestClock()
    fees = FeeSchedule()
    arb = CrossVenueArbitrage(clock, fees)
    cycles = MultiHopArbitrage(clock, fees)
    fx = ForexSignalScanner(clock)
    venues = {e.venue for e in sink.events if isinstance(e, OrderBookUpdated)}
    meta: list[Event] = [m for m in (binance_instruments(), poloniex_instruments())
                         if m.venue in venues]
    rows: dict[str, Row] = defaultdict(Row)
    opps: list[ArbitrageOpportunityDetected] = []
    for event in [*meta, *sink.events]:
        if isinstance(event, OrderBookUpdated):
            row = rows[event.venue]
            row.books += 1
            row.seen.add(event.instrument_id)
            found = arb.on_book(event)
            opps.extend(found)
            row.arb += len(found)
            row.arb_gross_pos += sum(o.gross_pnl > 0 for o in found)
            row.arb_net_pos += sum(o.net_pnl > 0 for o in found)
            for o in found:
                if row.best_arb_bps is None or o.net_edge_bps > row.best_arb_bps:
                    row.best_arb_bps = o.net_edge_bps
            hops = cycles.on_book(event)
            row.cycles += len(hops)
            row.cycles_gross_pos += sum(o.gross_pnl > 0 for o in hops)
            row.cycles_net_pos += sum(o.net_pnl > 0 for o in hops)
        elif isinstance(event, BarClosed):
            row = rows[event.venue]
            row.bars += 1
            row.fx += len(fx.on_bar(event))
        elif isinstance(event, QuoteTick):
            rows[event.venue].quotes += 1
        elif isinstance(event, BookGapDetected):
            arb.on_gap(event)
            cycles.on_gap(event)
        elif isinstance(event, InstrumentsUpdated):
            arb.on_instruments(event)
            cycles.on_instruments(event)
    s, c = arb.stats, cycles.stats
    return FolderResult(dict(rows), (s.emitted, s.below_minimum, s.stale),
                        f"markets {len(cycles.graph.markets)}, books {c.books}, "
                        f"candidates {c.candidates}, depth-checked {c.depth_checked}, "
                        f"not executable {c.not_executable}, unpriced {c.unpriced}, "
                        f"emitted {c.emitted}", opps)


def render(results: dict[str, FolderResult]) -> str:
    head = ("folder", "venue", "books", "quotes", "bars", "arb", "gross>0", "net>0", "best bps",
            "cycles", "gross>0", "net>0", "fx")
    lines = [head]
    for folder, res in results.items():
        for venue, r in sorted(res.rows.items()):
            lines.append((folder, venue, str(r.books), str(r.quotes), str(r.bars), str(r.arb),
                          str(r.arb_gross_pos), str(r.arb_net_pos),
                          "-" if r.best_arb_bps is None else str(r.best_arb_bps),
                          str(r.cycles), str(r.cycles_gross_pos), str(r.cycles_net_pos),
                          str(r.fx)))
    widths = [max(len(x[i]) for x in lines) for i in range(len(head))]
    text = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                      for i, (c, w) in enumerate(zip(x, widths, strict=True))) for x in lines]
    for folder, res in results.items():
        emitted, below, stale = res.arb_stats
        text.append(f"{folder}: two-leg emitted {emitted}, below lot/minimum {below}, "
                    f"stale {stale}; multi-hop {res.cycle_stats}")
    return "\n".join(text)


async def test_every_recording_goes_through_the_scanner(capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    start = time.monotonic()
    groups = folders()
    assert {"binance", "cryptofeed/master_format1", "fxcm"} <= set(groups)
    results = {folder: await run_folder(paths) for folder, paths in groups.items()}
    elapsed = time.monotonic() - start
    with capsys.disabled():
        print(f"\nscanner over every recording ({elapsed:.1f} s):\n{render(results)}")

    # every folder replayed something
    for folder, res in results.items():
        assert sum(r.books + r.quotes + r.bars for r in res.rows.values()) > 0, folder
    # the Binance BTC window prices spot / USD-M / COIN-M against each other
    btc = results["binance"]
    assert sum(r.arb for r in btc.rows.values()) > 0
    assert sum(r.fx for r in results["fxcm"].rows.values()) > 0
    for res in results.values():
        for o in res.opportunities:
            # each figure is rounded to 8 decimals on its own
            assert abs(o.net_pnl - (o.gross_pnl - o.fees - o.transfer_cost)) <= D("2E-8")
            assert o.ttl_ns > 0
            assert all(leg.levels_used >= 1 for leg in o.legs)
            for leg in o.legs:
                if leg.instrument_id == "BTC/USDT.BINANCE":  # lot 0.00001 from the metadata
                    assert leg.quantity % D("0.00001") == 0
    # Binance spot and futures wallets are one account: no transfer cost in the window
    assert all(o.transfer_cost == 0 for o in btc.opportunities)
