"""Readers for the recorded forex tick files the paper venue and the local server replay.

Three formats, all in `data/recorded/forex/` (see its SOURCES.upstream.md):

- `truefx`: header `timestamp,bid,ask`, times ISO with a UTC offset
  (`2013-01-01 22:00:00.295000+00:00`);
- `histdata`: no header, `YYYYMMDD HHMMSSmmm,bid,ask,0`, times in EST = UTC-5 with no DST;
- `nautilus_decoded`: header `timestamp_utc,ts_event_ns,bid,ask`; `ts_event_ns` is the
  original integer time and `timestamp_utc` its microsecond rendering; both must agree.

Row parsers are pure. `read_ticks` yields `RecordedTick`s in file order, and a `BadLine` for a
row that cannot be used (unparseable, non-positive price, time going backwards); reading goes on.
A missing file or a wrong header raises: that is configuration, not data.
"""
from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path

from libs.common.errors import ValidationFailed
from services.intake.domain.records import BadLine

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EST = timedelta(hours=5)  # HistData ASCII ticks: EST, UTC-5 all year
_TEXT_CUT = 300
NS_PER_US = 1_000


class TickFormat(StrEnum):
    TRUEFX = "truefx"
    HISTDATA = "histdata"
    NAUTILUS_DECODED = "nautilus_decoded"


class PriceSource(StrEnum):
    """Which price of a bid/ask tick stands for Pocket Option's single streamed price."""

    MID = "MID"
    BID = "BID"
    ASK = "ASK"


HEADERS: dict[TickFormat, list[str] | None] = {
    TickFormat.TRUEFX: ["timestamp", "bid", "ask"],
    TickFormat.HISTDATA: None,
    TickFormat.NAUTILUS_DECODED: ["timestamp_utc", "ts_event_ns", "bid", "ask"],
}


@dataclass(frozen=True, slots=True)
class RecordedTick:
    """One recorded bid/ask tick with where it came from."""

    source: str
    line_no: int
    ts_ns: int
    bid: Decimal
    ask: Decimal

    def price(self, source: PriceSource = PriceSource.MID) -> Decimal:
        """The single price this tick stands for (mid is exact in Decimal)."""
        if source is PriceSource.BID:
            return self.bid
        if source is PriceSource.ASK:
            return self.ask
        return (self.bid + self.ask) / 2


def _ns(dt: datetime) -> int:
    return (dt - _EPOCH) // timedelta(microseconds=1) * NS_PER_US


def _prices(bid_text: str, ask_text: str) -> tuple[Decimal, Decimal]:
    try:
        bid, ask = Decimal(bid_text), Decimal(ask_text)
    except InvalidOperation as e:
        raise ValueError(f"price not a number: {bid_text!r}, {ask_text!r}") from e
    if not (bid.is_finite() and ask.is_finite() and bid > 0 and ask > 0):
        raise ValueError(f"prices must be positive and finite: bid {bid_text}, ask {ask_text}")
    return bid, ask


def parse_truefx_row(fields: list[str]) -> tuple[int, Decimal, Decimal]:
    """`2013-01-01 22:00:00.295000+00:00,86.655,86.728` -> (ns, bid, ask)."""
    if len(fields) != 3:
        raise ValueError(f"{len(fields)} fields, expected 3")
    dt = datetime.fromisoformat(fields[0])
    if dt.tzinfo is None:
        raise ValueError(f"timestamp {fields[0]!r} has no UTC offset")
    return (_ns(dt), *_prices(fields[1], fields[2]))


def parse_histdata_row(fields: list[str]) -> tuple[int, Decimal, Decimal]:
    """`20200101 170000065,1.121200,1.121720,0` (EST) -> (UTC ns, bid, ask)."""
    if len(fields) != 4:
        raise ValueError(f"{len(fields)} fields, expected 4")
    stamp = fields[0]
    if len(stamp) != 18 or stamp[8] != " " or not (stamp[:8] + stamp[9:]).isdigit():
        raise ValueError(f"timestamp {stamp!r} is not 'YYYYMMDD HHMMSSmmm'")
    local = datetime.strptime(stamp[:15], "%Y%m%d %H%M%S").replace(tzinfo=UTC)
    ns = _ns(local + _EST) + int(stamp[15:]) * 1_000_000
    return (ns, *_prices(fields[1], fields[2]))


def parse_nautilus_decoded_row(fields: list[str]) -> tuple[int, Decimal, Decimal]:
    """`2019-01-01T23:00:00.078000Z,1546383600078000128,1.14605,1.14643` -> (ns, bid, ask)."""
    if len(fields) != 4:
        raise ValueError(f"{len(fields)} fields, expected 4")
    if not fields[1].isdigit():
        raise ValueError(f"ts_event_ns {fields[1]!r} is not an integer")
    ns = int(fields[1])
    text = fields[0]
    if not text.endswith("Z"):
        raise ValueError(f"timestamp_utc {text!r} does not end in Z")
    rendered = _ns(datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC))
    if not 0 <= ns - rendered < NS_PER_US:
        raise ValueError(f"ts_event_ns {ns} is not the time {text} (to the microsecond)")
    return (ns, *_prices(fields[2], fields[3]))


_PARSERS = {
    TickFormat.TRUEFX: parse_truefx_row,
    TickFormat.HISTDATA: parse_histdata_row,
    TickFormat.NAUTILUS_DECODED: parse_nautilus_decoded_row,
}


def read_ticks(path: str | Path, fmt: TickFormat) -> Iterator[RecordedTick | BadLine]:
    """Ticks of one file in file order, with BadLines in place for rows that cannot be used."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"tick file not found: {path}")
    parse = _PARSERS[fmt]
    expected = HEADERS[fmt]
    last_ts = 0
    with path.open(newline="") as fh:
        reader = csv.reader(fh)
        if expected is not None:
            header = next(reader, None)
            if header != expected:
                raise ValidationFailed(f"{path.name}:1: header {header!r}, expected {expected!r}")
        for fields in reader:
            line_no = reader.line_num
            text = ",".join(fields)[:_TEXT_CUT]
            try:
                ts, bid, ask = parse(fields)
            except ValueError as e:
                yield BadLine(path.name, line_no, last_ts, f"unparseable row: {e}", text)
                continue
            if ts < last_ts:
                yield BadLine(path.name, line_no, last_ts,
                              f"time goes back {last_ts - ts} ns; row skipped", text)
                continue
            last_ts = ts
            yield RecordedTick(path.name, line_no, ts, bid, ask)
