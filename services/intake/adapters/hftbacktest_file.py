"""Reader for hftbacktest Binance captures: gzip text, one `<local_receive_ts_ns> <json>` a line.

A line is the REST depth snapshot (no "stream" key) or a combined-stream message
(`{"stream": "<sym>@depth@100ms" | "<sym>@bookTicker" | "<sym>@trade", "data": {...}}`).
Each becomes a typed record from `domain.records`. A line that cannot be used becomes a
`BadLine` naming the file and line number, and reading goes on: one bad line must not stop a
replay. A file that is not readable gzip ends with one `BadLine` for the rest of it.
"""
from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from libs.common.errors import ValidationFailed
from services.intake.domain.records import (
    BadLine,
    BinanceRecord,
    Levels,
    RawBookTicker,
    RawDepthUpdate,
    RawSnapshot,
    RawTrade,
)

_TEXT_CUT = 300  # characters of a bad line kept for the dead-letter entry
_LIMIT = Decimal("1e15")  # no BTC price or size comes near; also rejects Infinity
# Numbers with a fraction become Decimal from their text, never a binary float.
_DECODER = json.JSONDecoder(parse_float=Decimal)


class MalformedLine(ValidationFailed):
    """A capture line does not match the format; the message names file and line."""

    def __init__(self, source: str, line_no: int, reason: str, ts_recv: int | None = None):
        super().__init__(f"{source}:{line_no}: {reason}")
        self.source = source
        self.line_no = line_no
        self.reason = reason
        self.ts_recv = ts_recv


def read_hftbacktest(path: str | Path, source: str | None = None) -> Iterator[BinanceRecord]:
    """Yield every line of a capture as a record, in file order.

    `source` (default: the file's base name) is stamped on each record; merged replays break
    timestamp ties with it. A missing file raises FileNotFoundError at once (a configuration
    mistake, not bad data).
    """
    path = Path(path)
    src = source or path.name
    if not path.is_file():
        raise FileNotFoundError(f"capture not found: {path}")
    last_ts = 0
    line_no = 0
    with gzip.open(path, "rb") as fh:
        lines = iter(fh)
        while True:
            try:
                raw = next(lines)
            except StopIteration:
                return
            except (OSError, EOFError, zlib.error) as e:
                yield BadLine(src, line_no + 1, last_ts, f"unreadable gzip, rest of file lost: {e}",
                              "")
                return
            line_no += 1
            try:
                record = parse_line(raw, src, line_no)
            except MalformedLine as e:
                ts = e.ts_recv if e.ts_recv is not None else last_ts
                text = raw.decode("utf-8", "replace").rstrip("\r\n")[:_TEXT_CUT]
                yield BadLine(src, line_no, ts, e.reason, text)
                continue
            last_ts = record.ts_recv
            yield record


def parse_line(raw: bytes | str, source: str, line_no: int,
               ) -> RawSnapshot | RawDepthUpdate | RawBookTicker | RawTrade:
    """Parse one capture line; raise MalformedLine (file:line: reason) if it does not fit."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as e:
        raise MalformedLine(source, line_no, f"not UTF-8: {e}") from e
    ts_text, sep, body = text.rstrip("\r\n").partition(" ")
    if not sep or not body:
        raise MalformedLine(source, line_no, "expected '<receive_ts_ns> <json>'")
    try:
        ts_recv = int(ts_text)
    except ValueError:
        raise MalformedLine(source, line_no, f"receive timestamp {ts_text[:40]!r} is not an "
                                             "integer") from None
    if ts_recv < 0:
        raise MalformedLine(source, line_no, "negative receive timestamp")
    try:
        msg = _DECODER.decode(body)
    except json.JSONDecodeError as e:
        raise MalformedLine(source, line_no, f"invalid JSON: {e}", ts_recv) from None
    if not isinstance(msg, dict):
        raise MalformedLine(source, line_no, "JSON is not an object", ts_recv)
    try:
        if "stream" in msg:
            return _parse_stream(msg, source, line_no, ts_recv)
        if "lastUpdateId" in msg:
            return _parse_snapshot(msg, source, line_no, ts_recv)
        raise _Bad("neither a stream message nor a depth snapshot")
    except _Bad as e:
        raise MalformedLine(source, line_no, str(e), ts_recv) from None


class _Bad(Exception):
    """Internal: a field problem, turned into MalformedLine with the line's context."""


def _parse_snapshot(msg: Mapping[str, Any], source: str, line_no: int,
                    ts_recv: int) -> RawSnapshot:
    symbol = msg.get("symbol")
    return RawSnapshot(
        source=source, line_no=line_no, ts_recv=ts_recv,
        last_update_id=_int(msg, "lastUpdateId"),
        event_time_ms=_int(msg, "E") if "E" in msg else None,
        symbol=symbol if isinstance(symbol, str) else None,
        bids=_levels(msg, "bids"), asks=_levels(msg, "asks"),
    )


def _parse_stream(msg: Mapping[str, Any], source: str, line_no: int, ts_recv: int,
                  ) -> RawDepthUpdate | RawBookTicker | RawTrade:
    stream = msg["stream"]
    data = msg.get("data")
    if not isinstance(stream, str) or not isinstance(data, dict):
        raise _Bad("stream message needs a string 'stream' and an object 'data'")
    parts = stream.split("@")
    kind = data.get("e") or (parts[1] if len(parts) > 1 else "")
    if kind == "depthUpdate":
        return RawDepthUpdate(
            source=source, line_no=line_no, ts_recv=ts_recv, symbol=_str(data, "s"),
            event_time_ms=_int(data, "E"), first_update_id=_int(data, "U"),
            final_update_id=_int(data, "u"),
            prev_final_update_id=_int(data, "pu") if "pu" in data else None,
            bids=_levels(data, "b"), asks=_levels(data, "a"),
        )
    if kind == "bookTicker":
        return RawBookTicker(
            source=source, line_no=line_no, ts_recv=ts_recv, symbol=_str(data, "s"),
            update_id=_int(data, "u"), bid_price=_dec(data, "b"), bid_qty=_dec(data, "B"),
            ask_price=_dec(data, "a"), ask_qty=_dec(data, "A"),
        )
    if kind == "trade":
        maker = data.get("m")
        if not isinstance(maker, bool):
            raise _Bad("trade field 'm' must be a boolean")
        return RawTrade(
            source=source, line_no=line_no, ts_recv=ts_recv, symbol=_str(data, "s"),
            event_time_ms=_int(data, "E"), trade_id=_int(data, "t"), price=_dec(data, "p"),
            qty=_dec(data, "q"), buyer_is_maker=maker,
        )
    raise _Bad(f"unknown stream message {stream!r} (e={data.get('e')!r})")


def _int(d: Mapping[str, Any], key: str) -> int:
    v = d.get(key)
    if type(v) is not int or v < 0:
        raise _Bad(f"field {key!r} must be a non-negative integer, got {v!r}"[:200])
    return v


def _str(d: Mapping[str, Any], key: str) -> str:
    v = d.get(key)
    if not isinstance(v, str) or not v:
        raise _Bad(f"field {key!r} must be a non-empty string, got {v!r}"[:200])
    return v


def _dec(d: Mapping[str, Any], key: str) -> Decimal:
    v = d.get(key)
    if not isinstance(v, (str, int, Decimal)) or isinstance(v, bool):
        raise _Bad(f"field {key!r} must be a decimal string, got {v!r}"[:200])
    try:
        x = Decimal(v)
        if not 0 <= x < _LIMIT:
            raise _Bad(f"field {key!r} out of range: {v!r}"[:200])
    except InvalidOperation:
        raise _Bad(f"field {key!r} is not a number: {v!r}"[:200]) from None
    return x


def _levels(d: Mapping[str, Any], key: str) -> Levels:
    raw = d.get(key)
    if not isinstance(raw, list):
        raise _Bad(f"field {key!r} must be a list of [price, size]")
    try:
        out = tuple([(Decimal(p), Decimal(q)) for p, q in raw])
    except (ValueError, TypeError, InvalidOperation):
        raise _Bad(f"{key!r} has a level that is not [price, size] numbers") from None
    try:
        for price, size in out:
            if not (0 < price < _LIMIT and 0 <= size < _LIMIT):
                raise _Bad(f"{key!r} level [{price}, {size}] out of range "
                           "(price > 0, size >= 0)")
    except InvalidOperation:  # NaN does not compare
        raise _Bad(f"{key!r} has a NaN level") from None
    return out
