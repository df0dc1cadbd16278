"""Forex tick CSV rows -> `TickRow` -> `QuoteTick`. Pure.

Three layouts (see data/recorded/forex/SOURCES.upstream.md):

- TrueFX: header `timestamp,bid,ask`; `2013-01-01 22:00:00.295000+00:00` (ISO, with offset).
- HistData ASCII ticks: no header; `20200101 170000065,1.121200,1.121720,0` =
  `YYYYMMDD HHMMSSmmm,bid,ask,volume`, times in EST, i.e. UTC-5 all year (no daylight saving,
  HistData's convention): UTC = EST + 5 h.
- The 2019 decoded ticks: header `timestamp_utc,ts_event_ns,bid,ask`. `ts_event_ns` is the
  original parquet value and is used; `timestamp_utc` is its µs rendering and must agree with it
  to within 1 µs, else the row is rejected (a corrupt or hand-edited row).

Every row: prices positive and finite, bid <= ask (else a BadLine naming the rule).
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from libs.common.clock import Clock
from libs.common.events import QuoteTick
from services.intake.adapters.fxcm_bars import parse_timestamp
from services.intake.recording import fields as f
from services.intake.recording.records import TickInstrument, TickRow

TRUEFX_HEADER = "timestamp,bid,ask"
DECODED_HEADER = "timestamp_utc,ts_event_ns,bid,ask"
EST_OFFSET_NS = 5 * 3600 * 1_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _prices(bid_text: str, ask_text: str) -> tuple[Decimal, Decimal]:
    bid, ask = f.price(bid_text, "bid"), f.price(ask_text, "ask")
    f.check_not_crossed(bid, ask, "tick")
    return bid, ask


def parse_truefx(fields: list[str]) -> tuple[int, Decimal, Decimal]:
    """(ts ns UTC, bid, ask) of one TrueFX row; FieldInvalid with the reason."""
    if len(fields) != 3:
        raise f.FieldInvalid(f"{len(fields)} fields, expected 3 (timestamp,bid,ask)")
    try:
        ts = parse_timestamp(fields[0])
    except ValueError as e:
        raise f.FieldInvalid(f"timestamp: {e}") from None
    return (ts, *_prices(fields[1], fields[2]))


def parse_histdata(fields: list[str]) -> tuple[int, Decimal, Decimal]:
    """(ts ns UTC, bid, ask) of one HistData tick row (EST -> UTC)."""
    if len(fields) != 4:
        raise f.FieldInvalid(f"{len(fields)} fields, expected 4 (datetime,bid,ask,volume)")
    stamp = fields[0]
    if len(stamp) != 18 or stamp[8] != " " or not (stamp[:8] + stamp[9:]).isdigit():
        raise f.FieldInvalid(f"datetime {stamp[:40]!r} is not 'YYYYMMDD HHMMSSmmm'")
    try:
        est = datetime.strptime(stamp[:15], "%Y%m%d %H%M%S").replace(tzinfo=UTC)
    except ValueError as e:
        raise f.FieldInvalid(f"datetime {stamp!r}: {e}") from None
    ms = int(stamp[15:])
    ts = (est - _EPOCH) // timedelta(seconds=1) * 1_000_000_000 + ms * 1_000_000
    if not fields[3].strip().isdigit():
        raise f.FieldInvalid(f"volume {fields[3][:20]!r} is not an integer")
    return (ts + EST_OFFSET_NS, *_prices(fields[1], fields[2]))


def parse_decoded(fields: list[str]) -> tuple[int, Decimal, Decimal]:
    """(ts ns UTC, bid, ask) of one decoded-2019 row."""
    if len(fields) != 4:
        raise f.FieldInvalid(f"{len(fields)} fields, expected 4 ({DECODED_HEADER})")
    ts_text = fields[1]
    if not (ts_text.isascii() and ts_text.isdigit()):
        raise f.FieldInvalid(f"ts_event_ns {ts_text[:30]!r} is not an integer")
    ts = int(ts_text)
    try:
        shown = parse_timestamp(fields[0].replace("Z", "+00:00"))
    except ValueError as e:
        raise f.FieldInvalid(f"timestamp_utc: {e}") from None
    if abs(shown - ts) >= 1_000:
        raise f.FieldInvalid(f"timestamp_utc {fields[0]} disagrees with ts_event_ns {ts}")
    return (ts, *_prices(fields[2], fields[3]))


PARSERS = {"truefx": parse_truefx, "histdata": parse_histdata, "decoded": parse_decoded}


def tick_row(layout: str, fields: list[str], source: str, line_no: int,
             instrument: TickInstrument) -> TickRow:
    """Parse one row of `layout` into a TickRow; FieldInvalid with the reason."""
    ts, bid, ask = PARSERS[layout](fields)
    return TickRow(source, line_no, ts, instrument, bid, ask)


def to_quote(row: TickRow, clock: Clock) -> QuoteTick:
    """The QuoteTick for a tick row (ts_init from `clock`)."""
    ins = row.instrument
    return QuoteTick(ts_event=row.ts_recv, ts_init=clock.now_ns(),
                     instrument_id=ins.instrument_id, venue=ins.venue, symbol=ins.symbol,
                     bid=row.bid, ask=row.ask)
