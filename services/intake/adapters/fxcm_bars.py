"""Reader for FXCM 1-minute bid and ask CSVs (`timestamp,open,high,low,close`, ISO UTC times).

The two files are joined on the timestamp into one `BarClosed` per minute. Anything that cannot
become a bar is yielded as a `BadLine` naming the file and line, and reading goes on: a row that
does not parse or breaks an OHLC rule, a timestamp listed twice in one file, or a timestamp in
one file but not the other (never silently dropped). Output is in time order.
"""
from __future__ import annotations

import csv
import heapq
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from libs.common.clock import Clock
from libs.common.errors import ValidationFailed
from libs.common.events import BarClosed
from services.intake.domain.bars import NS_PER_S, BarInvalid, OhlcRow, check_ohlc, make_bar
from services.intake.domain.instruments import FXCM_GBPUSD, InstrumentSpec
from services.intake.domain.records import BadLine

HEADER = ["timestamp", "open", "high", "low", "close"]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def read_fxcm_bars(bid_path: str | Path, ask_path: str | Path, *, clock: Clock,
                   spec: InstrumentSpec = FXCM_GBPUSD, timeframe_s: int = 60,
                   ) -> Iterator[BarClosed | BadLine]:
    """Yield the joined bars of one instrument (and BadLines for what could not be used).

    `clock` stamps `ts_init`. A missing file or a wrong header raises (configuration, not data).
    """
    bid_path, ask_path = Path(bid_path), Path(ask_path)
    step = timeframe_s * NS_PER_S
    bids, bid_bad, bid_rejected = _read_side(bid_path, step)
    asks, ask_bad, ask_rejected = _read_side(ask_path, step)
    # Problems wait in a heap and are released in time order among the bars.
    problems = [((b.ts_recv, b.source, b.line_no), b) for b in bid_bad + ask_bad]
    heapq.heapify(problems)
    for ts in sorted(bids.keys() | asks.keys()):
        bid, ask = bids.get(ts), asks.get(ts)
        item: BarClosed | BadLine
        if bid is None or ask is None:
            if bid is not None:
                (line_no, row), present, missing, rejected = bid, bid_path, ask_path, ask_rejected
            else:
                assert ask is not None  # ts came from one of the two
                (line_no, row), present, missing, rejected = ask, ask_path, bid_path, bid_rejected
            why = (f"its row in {missing.name} was rejected (line {rejected[ts]})"
                   if ts in rejected else f"no row for it in {missing.name}")
            item = BadLine(present.name, line_no, ts + step, f"bar {_iso(ts)} unpaired: {why}",
                           _row_text(row))
        else:
            item = make_bar(spec, bid[1], ask[1], ts_init=clock.now_ns(),
                            timeframe_s=timeframe_s)
        key = item.ts_event if isinstance(item, BarClosed) else item.ts_recv
        while problems and problems[0][0][0] <= key:
            yield heapq.heappop(problems)[1]
        yield item
    while problems:
        yield heapq.heappop(problems)[1]


def parse_timestamp(text: str) -> int:
    """ISO time with an offset (`2012-02-01 00:00:00+00:00`) -> ns since epoch."""
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no UTC offset")
    return (dt - _EPOCH) // timedelta(microseconds=1) * 1000


def _read_side(path: Path, step: int,
               ) -> tuple[dict[int, tuple[int, OhlcRow]], list[BadLine], dict[int, int]]:
    """Rows by ts (with line numbers), bad lines, and ts -> line of rows that failed checks."""
    if not path.is_file():
        raise FileNotFoundError(f"bar file not found: {path}")
    rows: dict[int, tuple[int, OhlcRow]] = {}
    bad: list[BadLine] = []
    rejected: dict[int, int] = {}
    last_ts = 0
    with path.open(newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header != HEADER:
            raise ValidationFailed(f"{path.name}:1: header {header!r}, expected {HEADER!r}")
        for fields in reader:
            line_no = reader.line_num
            try:
                row = _parse_row(fields)
            except (ValueError, InvalidOperation) as e:
                bad.append(BadLine(path.name, line_no, last_ts + step, f"unparseable row: {e}",
                                   ",".join(fields)[:300]))
                continue
            try:
                check_ohlc(row)
            except (BarInvalid, InvalidOperation) as e:
                rejected.setdefault(row.ts_open, line_no)
                bad.append(BadLine(path.name, line_no, row.ts_open + step,
                                   str(e) or "NaN price", ",".join(fields)[:300]))
                continue
            if row.ts_open in rows:
                bad.append(BadLine(path.name, line_no, row.ts_open + step,
                                   f"duplicate timestamp {_iso(row.ts_open)} (first at line "
                                   f"{rows[row.ts_open][0]})", ",".join(fields)[:300]))
                continue
            last_ts = row.ts_open
            rows[row.ts_open] = (line_no, row)
    return rows, bad, rejected


def _parse_row(fields: list[str]) -> OhlcRow:
    if len(fields) != len(HEADER):
        raise ValueError(f"{len(fields)} fields, expected {len(HEADER)}")
    ts, o, h, low, c = fields
    return OhlcRow(parse_timestamp(ts), Decimal(o), Decimal(h), Decimal(low), Decimal(c))


def _iso(ts_ns: int) -> str:
    return (_EPOCH + timedelta(microseconds=ts_ns // 1000)).isoformat()


def _row_text(row: OhlcRow) -> str:
    return f"{_iso(row.ts_open)},{row.open},{row.high},{row.low},{row.close}"
