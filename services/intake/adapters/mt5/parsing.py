"""MT5 payloads into our events. Pure: no I/O, no clock (ts_init is passed in).

Units at the edge:
- times: MT5 stamps ticks (`time_msc`, ms) and bars (`time`, s, the bar's open) in the broker's
  server time, written as if it were UTC. `server_ms_to_utc_ns` undoes the server zone's offset
  (none for "UTC") and gives ns. A bar's `ts_event` is its close, open + timeframe.
- prices: floats rounded to the symbol's `digits`, as Decimal.
- bars: MT5 rates carry one price series (bid, for FX symbols charted by bid) and one `spread`
  in points for the whole bar. The ask side is derived as bid + spread x point for each of O, H,
  L, C. That is exact only when the spread did not move during the bar; MT5 keeps one spread
  per bar (commonly its smallest), so the derived ask is an estimate, usually a lower bound.
- sizes: MT5 volumes are lots; our FX quantities are base-currency units, so `lot_size` and
  `min_quantity` are volume_step and volume_min times `trade_contract_size`, and
  `contract_size` carries `trade_contract_size` (base units per lot) so execution can convert
  back to lots.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from libs.common.enums import InstrumentKind
from libs.common.errors import ValidationFailed
from libs.common.events import BarClosed, InstrumentInfo, QuoteTick
from libs.common.identifiers import instrument_id
from services.intake.adapters.base import BadMessage
from services.intake.adapters.mt5 import schemas as S
from services.intake.domain.bars import BarInvalid, OhlcRow, check_ohlc

NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_NAIVE = datetime(1970, 1, 1)


@dataclass(frozen=True, slots=True)
class SymbolMeta:
    """What the adapter keeps of one symbol to parse its ticks and bars."""

    symbol: str
    instrument_id: str
    base: str
    quote: str
    digits: int
    point: Decimal


@dataclass(frozen=True, slots=True)
class TickCursor:
    """The last tick time handed out and how many ticks carried exactly that ms.

    Several ticks can share one ms, and `copy_ticks_range` is asked again from that ms, so the
    first `count_at_last` ticks at `last_msc` in the next answer are the ones already seen.
    """

    last_msc: int
    count_at_last: int


# -- time -------------------------------------------------------------------------------------

def server_zone(name: str) -> tzinfo | None:
    """The broker server's zone, None for UTC (times then pass through unchanged)."""
    return None if name == "UTC" else ZoneInfo(name)


def server_ms_to_utc_ns(ms: int, zone: tzinfo | None) -> int:
    """An MT5 server-time ms stamp -> ns since the epoch, UTC."""
    if zone is None:
        return ms * NS_PER_MS
    wall = _EPOCH_NAIVE + timedelta(milliseconds=ms)
    offset = wall.replace(tzinfo=zone).utcoffset() or timedelta(0)
    return (ms - offset // timedelta(milliseconds=1)) * NS_PER_MS


def utc_ms_to_server_datetime(ms: int, zone: tzinfo | None) -> datetime:
    """A UTC ms -> the aware datetime MT5 wants for the same instant in server time.

    MT5 reads a datetime argument as seconds since the epoch and compares it with its server
    stamps, so the server zone's offset is added. The result is tz-aware (UTC), which mt5linux
    needs (it calls `astimezone()` on it) and which keeps the local zone of this host out.
    """
    utc = _EPOCH + timedelta(milliseconds=ms)
    offset = timedelta(0) if zone is None else (utc.astimezone(zone).utcoffset() or timedelta(0))
    return utc + offset


# -- numbers ----------------------------------------------------------------------------------

def price(value: Any, digits: int) -> Decimal:
    """A float price rounded to `digits` decimals; ValueError if not a finite number."""
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"non-finite price {value!r}")
    return Decimal(f"{x:.{digits}f}")


def number(value: Any) -> Decimal:
    """A float spec value (point, lot step) as its shortest exact decimal."""
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"non-finite value {value!r}")
    return Decimal(repr(x))


# -- symbols ----------------------------------------------------------------------------------

def parse_symbol_info(info: Any, venue: str) -> tuple[InstrumentInfo, SymbolMeta]:
    """A SymbolInfo named tuple -> our InstrumentInfo and the adapter's SymbolMeta.

    Currency pairs (calc mode FOREX / FOREX_NO_LEVERAGE) are named `BASE/QUOTE.<venue>`, so a
    broker's `EURUSD` and `EURUSD.pro` both read EUR/USD; other symbols (CFDs, indices) keep
    their own name. Raises ValidationFailed with the reason when a field is missing or wrong.
    """
    try:
        fields = {name: getattr(info, name) for name in S.SYMBOL_INFO_FIELDS}
    except AttributeError as e:
        raise ValidationFailed(f"symbol_info lacks a field: {e}") from e
    name = fields["name"]
    if not isinstance(name, str) or not name:
        raise ValidationFailed(f"symbol_info name {name!r} is not a symbol")
    try:
        digits = int(fields["digits"])
        if not 0 <= digits <= 12:
            raise ValueError(f"digits {digits} outside 0..12")
        point = number(fields["point"])
        tick = number(fields["trade_tick_size"]) or point
        contract = number(fields["trade_contract_size"])
        step = number(fields["volume_step"])
        vmin = number(fields["volume_min"])
        calc_mode = int(fields["trade_calc_mode"])
        trade_mode = int(fields["trade_mode"])
    except (TypeError, ValueError, InvalidOperation) as e:
        raise ValidationFailed(f"{name}: {e}") from e
    for label, v in (("point", point), ("trade_tick_size", tick),
                     ("trade_contract_size", contract), ("volume_step", step)):
        if v <= 0:
            raise ValidationFailed(f"{name}: {label} {v} is not positive")
    if vmin < 0:
        raise ValidationFailed(f"{name}: volume_min {vmin} is negative")
    base, quote = fields["currency_base"], fields["currency_profit"]
    forex = (calc_mode in (S.SYMBOL_CALC_MODE_FOREX, S.SYMBOL_CALC_MODE_FOREX_NO_LEVERAGE)
             and isinstance(base, str) and isinstance(quote, str) and base and quote
             and base != quote)
    if forex:
        iid = instrument_id(f"{base}/{quote}", venue)
    else:
        base, quote = name, quote if isinstance(quote, str) and quote else ""
        iid = instrument_id(name, venue)
    inst = InstrumentInfo(
        instrument_id=iid, venue=venue, symbol=name, base=base, quote=quote,
        instrument_kind=InstrumentKind.FX if forex else InstrumentKind.LINEAR,
        active=trade_mode != S.SYMBOL_TRADE_MODE_DISABLED,
        tick_size=tick,
        lot_size=step * contract, min_quantity=(vmin * contract) or None,
        contract_size=contract,
    )
    return inst, SymbolMeta(name, iid, base, quote, digits, point)


# -- ticks ------------------------------------------------------------------------------------

def has_fields(rows: Any, names: tuple[str, ...]) -> str | None:
    """None if `rows` is a structured array with `names`, else why not."""
    dtype = getattr(rows, "dtype", None)
    have = getattr(dtype, "names", None)
    if not have:
        return f"not a structured array: {type(rows).__name__}"
    missing = [n for n in names if n not in have]
    return f"missing fields {missing}" if missing else None


def parse_tick(meta: SymbolMeta, *, time_msc: Any, bid: Any, ask: Any, zone: tzinfo | None,
               ts_init: int, venue: str) -> QuoteTick:
    """One tick -> QuoteTick; ValidationFailed if it has no usable bid/ask or time."""
    try:
        msc = int(time_msc)
        b, a = price(bid, meta.digits), price(ask, meta.digits)
    except (TypeError, ValueError, OverflowError) as e:
        raise ValidationFailed(f"{meta.symbol}: unreadable tick: {e}") from e
    if msc <= 0:
        raise ValidationFailed(f"{meta.symbol}: tick time_msc {msc} is not a time")
    if b <= 0 or a <= 0:
        raise ValidationFailed(f"{meta.symbol}: tick without bid/ask (bid={b}, ask={a})")
    return QuoteTick(
        ts_event=server_ms_to_utc_ns(msc, zone), ts_init=ts_init,
        instrument_id=meta.instrument_id, venue=venue, symbol=meta.symbol, bid=b, ask=a,
    )


def select_new_ticks(times: list[int], cursor: TickCursor | None, horizon_msc: int | None,
                     ) -> tuple[list[int], list[int], TickCursor | None]:
    """Which rows of a `copy_ticks_range` answer are new.

    Returns (indices of new ticks, indices of rows out of time order, the advanced cursor).
    Rows before the cursor are the overlap of the request and are skipped; rows at or after
    `horizon_msc` (the close of the bar still forming when the rates were read) are left for
    the next poll, so no tick is published after a bar that closes before it.
    """
    new: list[int] = []
    disordered: list[int] = []
    last, count = (cursor.last_msc, cursor.count_at_last) if cursor else (-1, 0)
    skip_at_last = count
    prev = -1
    for i, t in enumerate(times):
        if t < prev:
            disordered.append(i)
            continue
        prev = t
        if horizon_msc is not None and t >= horizon_msc:
            break
        if t < last:
            continue
        if t == last:
            if skip_at_last:
                skip_at_last -= 1
                continue
            count += 1
        else:
            last, count, skip_at_last = t, 1, 0
        new.append(i)
    advanced = TickCursor(last, count) if last >= 0 else cursor
    return new, disordered, advanced


def parse_ticks(rows: Any, meta: SymbolMeta, cursor: TickCursor | None, *,
                horizon_msc: int | None, zone: tzinfo | None, ts_init: int, venue: str,
                ) -> tuple[list[QuoteTick | BadMessage], TickCursor | None]:
    """The new ticks of a `copy_ticks_*` array as QuoteTicks (BadMessages for unusable rows)."""
    why = has_fields(rows, ("time_msc", "bid", "ask"))
    if why:
        return [BadMessage(venue, f"{meta.symbol}: copy_ticks answer {why}",
                           repr(rows)[:300])], cursor
    times = [int(t) for t in rows["time_msc"]]
    new, disordered, advanced = select_new_ticks(times, cursor, horizon_msc)
    out: list[QuoteTick | BadMessage] = [
        BadMessage(venue, f"{meta.symbol}: tick out of time order ({times[i]} after "
                          f"{max(times[:i])})", repr(rows[i])[:300])
        for i in disordered
    ]
    for i in new:
        row = rows[i]
        try:
            out.append(parse_tick(meta, time_msc=row["time_msc"], bid=row["bid"],
                                  ask=row["ask"], zone=zone, ts_init=ts_init, venue=venue))
        except ValidationFailed as e:
            out.append(BadMessage(venue, str(e), repr(row)[:300]))
    return out, advanced


# -- bars -------------------------------------------------------------------------------------

def parse_rate(row: Any, meta: SymbolMeta, *, timeframe_s: int, zone: tzinfo | None,
               ts_init: int, venue: str) -> BarClosed:
    """One closed MT5 rate -> BarClosed with the ask side derived from `spread` (see above)."""
    try:
        ts_open = server_ms_to_utc_ns(int(row["time"]) * 1000, zone)
        bid = OhlcRow(ts_open, *(price(row[k], meta.digits) for k in ("open", "high", "low",
                                                                      "close")))
        spread = int(row["spread"])
    except (TypeError, ValueError, OverflowError, KeyError) as e:
        raise ValidationFailed(f"{meta.symbol}: unreadable rate: {e}") from e
    try:
        check_ohlc(bid)
    except BarInvalid as e:
        raise ValidationFailed(f"{meta.symbol}: {e}") from e
    lift = spread * meta.point
    return BarClosed(
        ts_event=ts_open + timeframe_s * NS_PER_S, ts_init=ts_init,
        instrument_id=meta.instrument_id, venue=venue, symbol=meta.symbol, base=meta.base,
        quote=meta.quote, timeframe_s=timeframe_s, ts_open=ts_open,
        bid_open=bid.open, bid_high=bid.high, bid_low=bid.low, bid_close=bid.close,
        ask_open=bid.open + lift, ask_high=bid.high + lift, ask_low=bid.low + lift,
        ask_close=bid.close + lift,
    )


def parse_rates(rows: Any, meta: SymbolMeta, after_time: int | None, *, initial: int,
                timeframe_s: int, zone: tzinfo | None, ts_init: int, venue: str,
                ) -> tuple[list[BarClosed | BadMessage], int | None, bool]:
    """The closed bars of a `copy_rates_from_pos(symbol, tf, 0, n)` answer not yet published.

    The last row is the bar still forming and is never published. With no `after_time` (the
    first answer) only the last `initial` closed bars are, and every bar closing later will
    be. Returns (events, the server `time` to publish after next time, whether every closed
    row was new: bars may have been missed in between).
    """
    why = has_fields(rows, S.RATES_FIELDS)
    if why:
        return [BadMessage(venue, f"{meta.symbol}: copy_rates answer {why}",
                           repr(rows)[:300])], after_time, False
    closed = rows[:-1]
    times = [int(t) for t in closed["time"]]
    if after_time is None:
        keep = list(range(max(len(times) - initial, 0), len(times)))
    else:
        keep = [i for i, t in enumerate(times) if t > after_time]
    gap = after_time is not None and bool(times) and len(keep) == len(times)
    out: list[BarClosed | BadMessage] = []
    newest = after_time
    for i in keep:
        if newest is not None and times[i] <= newest:
            out.append(BadMessage(venue, f"{meta.symbol}: rate out of time order",
                                  repr(closed[i])[:300]))
            continue
        newest = times[i]
        try:
            out.append(parse_rate(closed[i], meta, timeframe_s=timeframe_s, zone=zone,
                                  ts_init=ts_init, venue=venue))
        except ValidationFailed as e:
            out.append(BadMessage(venue, str(e), repr(closed[i])[:300]))
    if newest is None and len(rows):
        newest = times[-1] if times else int(rows["time"][-1]) - 1  # only a forming bar yet
    return out, newest, gap


def forming_bar_close_msc(rows: Any, timeframe_s: int) -> int | None:
    """Server-time ms at which the last (forming) bar of a rates answer closes."""
    if getattr(rows, "dtype", None) is None or not len(rows) or "time" not in rows.dtype.names:
        return None
    return (int(rows["time"][-1]) + timeframe_s) * 1000
