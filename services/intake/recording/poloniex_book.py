"""Poloniex v3 `book_lv2` -> exact books with gap detection. Pure.

The channel sends, per symbol, one `snapshot` then `update`s; each carries `id` and `lastId`,
and an update follows the book when its `lastId` equals the book's `id` (`id` = `lastId` + 1 in
practice). That is Binance spot's diff chain with `U = lastId + 1` and `u = id`, so the exact
`BinanceBook` applies it unchanged (through an `IntakePipeline` per symbol, which also counts):

- an update with `id <= book id` is stale and dropped;
- the first update after a snapshot must span it: `lastId + 1 <= snapshot id + 1 <= id`;
- every later one must have `lastId == previous id`, else `BookGapDetected` and the book stays
  unusable until a new snapshot (never papered over);
- updates that come before any snapshot wait for it.

Sizes are absolute; a zero size removes the level. `ts_event` is the message's `ts` (ms).
Trades and subscription replies are skipped (counted); REST `/markets` teaches the symbols.
"""
from __future__ import annotations

from typing import Any

from libs.common.clock import Clock
from services.intake.domain.binance_book import DEFAULT_DEPTH
from services.intake.domain.records import RawDepthUpdate, RawSnapshot
from services.intake.recording import fields as f
from services.intake.recording.records import REST, WS, RawMessage, Skipped, bad
from services.intake.recording.symbols import SymbolTable, book_source
from services.intake.recording.venue_base import Out, SymbolBooks, rest_metadata

VENUE = "POLONIEX"


def to_record(item: dict[str, Any], action: str, msg: RawMessage,
              ) -> tuple[str, RawSnapshot | RawDepthUpdate]:
    """One `data[]` item of a book_lv2 message as a Binance-style record; FieldInvalid if bad."""
    symbol = f.string(item, "symbol")
    last_id, upd_id = f.integer(item, "lastId"), f.integer(item, "id")
    ts_ms = f.integer(item, "ts")
    bids, asks = f.levels(item, "bids"), f.levels(item, "asks")
    if upd_id <= last_id:
        raise f.FieldInvalid(f"id {upd_id} must be greater than lastId {last_id}")
    src = book_source(VENUE, symbol)
    if action == "snapshot":
        return symbol, RawSnapshot(src, msg.line_no, msg.ts_recv, last_update_id=upd_id,
                                   event_time_ms=ts_ms, symbol=None, bids=bids, asks=asks)
    return symbol, RawDepthUpdate(src, msg.line_no, msg.ts_recv, symbol=symbol,
                                  event_time_ms=ts_ms, first_update_id=last_id + 1,
                                  final_update_id=upd_id, prev_final_update_id=None,
                                  bids=bids, asks=asks)


class PoloniexMessages:
    """Poloniex messages in replay order -> books, gaps, BadLines, Skipped."""

    venue = VENUE

    def __init__(self, clock: Clock, symbols: SymbolTable, *, depth: int = DEFAULT_DEPTH,
                 ) -> None:
        self._symbols = symbols
        self.books = SymbolBooks(VENUE, clock, symbols, depth=depth)

    def on_message(self, msg: RawMessage) -> list[Out]:
        if msg.kind == REST:
            return rest_metadata(msg, self._symbols)
        if msg.kind != WS:
            return [Skipped(f"{msg.kind} line")]
        try:
            doc = f.json_object(msg.payload)
        except f.FieldInvalid as e:
            return [bad(msg, str(e))]
        if "event" in doc:
            return [Skipped(f"control message ({doc.get('event')})")]
        channel = doc.get("channel")
        if channel != "book_lv2":
            return [Skipped(f"{channel} channel (not published)")]
        action, data = doc.get("action"), doc.get("data")
        if action not in ("snapshot", "update") or not isinstance(data, list) or not data:
            return [bad(msg, "book_lv2 needs action snapshot|update and a non-empty data list")]
        out: list[Out] = []
        for item in data:
            try:
                if not isinstance(item, dict):
                    raise f.FieldInvalid("data item is not an object")
                symbol, record = to_record(item, action, msg)
            except f.FieldInvalid as e:
                out.append(bad(msg, str(e)))
                continue
            out.extend(self.books.process(msg, symbol, record))
        return out
