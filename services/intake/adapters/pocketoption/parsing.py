"""Pocket Option payloads -> our events. Pure: no I/O, time comes in as arguments.

`parse_update_stream` and `parse_update_assets` validate the decoded JSON of the two data events
intake uses and return the good records plus one reason per bad element, so one bad tick or
asset row never hides the rest. `quote_from_tick`, `binary_assets_event` and
`instruments_event` build the published events.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from libs.common.enums import InstrumentKind
from libs.common.events import (
    BinaryAsset,
    BinaryAssetsUpdated,
    InstrumentInfo,
    InstrumentsUpdated,
    QuoteTick,
)
from libs.common.identifiers import instrument_id
from services.intake.adapters.pocketoption.schemas import (
    ASSET_TYPES,
    ROW_ID,
    ROW_IS_ACTIVE,
    ROW_IS_OTC,
    ROW_NAME,
    ROW_PAYOUT,
    ROW_SYMBOL,
    ROW_TIMES,
    ROW_TYPE,
    AssetRow,
    StreamTick,
)

VENUE = "POCKET_OPTION"
OTC_SUFFIX = "_otc"
NS_PER_S = 1_000_000_000
# A unix time above this is in milliseconds (the library's `get_candles_live` uses the same cut).
_MS_THRESHOLD = 10_000_000_000
_PAIR = re.compile(r"^[A-Z]{6}$")
_PRICE_LIMIT = Decimal("1e12")


def is_number(value: Any) -> bool:
    """An int or Decimal that is finite (bool is not a number here)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, Decimal) and value.is_finite()


def unix_to_ns(value: int | Decimal) -> int:
    """Unix seconds (or milliseconds, when above 1e10) -> integer ns, exactly."""
    seconds = Decimal(value)
    if seconds > _MS_THRESHOLD:
        seconds = seconds / 1000
    return int(seconds * NS_PER_S)


def parse_stream_tick(item: Any) -> StreamTick:
    """One `[symbol, unix_seconds, price]`; ValueError with the reason if it is not that."""
    if not isinstance(item, list) or len(item) != 3:
        raise ValueError(f"tick is not [symbol, time, price]: {str(item)[:80]}")
    symbol, ts, price = item
    if not isinstance(symbol, str) or not symbol:
        raise ValueError(f"tick symbol {symbol!r} is not a non-empty string")
    if not is_number(ts) or ts <= 0:
        raise ValueError(f"{symbol}: tick time {ts!r} is not a positive number")
    if not is_number(price) or not 0 < price < _PRICE_LIMIT:
        raise ValueError(f"{symbol}: tick price {price!r} is not a positive number")
    return StreamTick(symbol=symbol, ts_ns=unix_to_ns(ts), price=Decimal(price))


def parse_update_stream(payload: Any) -> tuple[list[StreamTick], list[str]]:
    """The ticks of one `updateStream` payload (a list of ticks) and a reason per bad one."""
    if not isinstance(payload, list) or not payload:
        return [], [f"updateStream payload is not a non-empty list: {str(payload)[:80]}"]
    ticks: list[StreamTick] = []
    errors: list[str] = []
    for item in payload:
        try:
            ticks.append(parse_stream_tick(item))
        except ValueError as e:
            errors.append(str(e))
    return ticks, errors


def parse_asset_row(row: Any) -> AssetRow:
    """One `updateAssets` row; ValueError with the reason if a field the library reads is bad.

    The library needs exactly 19 elements; this accepts 16 or more (index 15 is the last one
    read) so a broker that appends a field does not lose every asset.
    """
    if not isinstance(row, list) or len(row) <= ROW_TIMES:
        raise ValueError(f"asset row is not a list of at least {ROW_TIMES + 1} elements: "
                         f"{str(row)[:80]}")
    asset_id, symbol, name = row[ROW_ID], row[ROW_SYMBOL], row[ROW_NAME]
    if not isinstance(symbol, str) or not symbol:
        raise ValueError(f"asset symbol {symbol!r} is not a non-empty string")
    if isinstance(asset_id, bool) or not isinstance(asset_id, int):
        raise ValueError(f"{symbol}: asset id {asset_id!r} is not an integer")
    if not isinstance(name, str):
        raise ValueError(f"{symbol}: asset name {name!r} is not a string")
    asset_type = row[ROW_TYPE]
    if asset_type not in ASSET_TYPES:
        raise ValueError(f"{symbol}: asset type {asset_type!r} not one of {sorted(ASSET_TYPES)}")
    payout = row[ROW_PAYOUT]
    if not is_number(payout) or not 0 <= payout <= 100:
        raise ValueError(f"{symbol}: payout {payout!r} is not a percentage in [0, 100]")
    is_otc = row[ROW_IS_OTC]
    if is_otc not in (0, 1) or isinstance(is_otc, Decimal):
        raise ValueError(f"{symbol}: OTC flag {is_otc!r} is not 0 or 1")
    is_active = row[ROW_IS_ACTIVE]
    if not isinstance(is_active, bool):
        raise ValueError(f"{symbol}: active flag {is_active!r} is not a boolean")
    times = row[ROW_TIMES]
    if not isinstance(times, list):
        raise ValueError(f"{symbol}: durations {str(times)[:60]} are not a list")
    seconds: set[int] = set()
    for entry in times:
        value = entry.get("time") if isinstance(entry, dict) else None
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{symbol}: duration {entry!r} is not {{\"time\": seconds > 0}}")
        seconds.add(value)
    return AssetRow(asset_id=asset_id, symbol=symbol, name=name, asset_type=asset_type,
                    payout_pct=Decimal(payout), is_otc=bool(is_otc), is_active=is_active,
                    times_s=tuple(sorted(seconds)))


def parse_update_assets(payload: Any) -> tuple[list[AssetRow], list[str]]:
    """The rows of one `updateAssets` payload and a reason per bad row (later duplicates lose)."""
    if not isinstance(payload, list):
        return [], [f"updateAssets payload is not a list: {str(payload)[:80]}"]
    rows: list[AssetRow] = []
    errors: list[str] = []
    seen: set[str] = set()
    for row in payload:
        try:
            parsed = parse_asset_row(row)
        except ValueError as e:
            errors.append(str(e))
            continue
        if parsed.symbol in seen:
            errors.append(f"{parsed.symbol}: listed twice; the first row is kept")
            continue
        seen.add(parsed.symbol)
        rows.append(parsed)
    return rows, errors


def split_symbol(symbol: str) -> tuple[str, str, bool]:
    """`EURUSD_otc` -> ("EUR", "USD", True); a non-pair keeps its stem as base, quote "".

    The broker states no quote currency for stocks, indices and commodities, so none is made up.
    """
    is_otc = symbol.endswith(OTC_SUFFIX)
    stem = symbol[: -len(OTC_SUFFIX)] if is_otc else symbol
    if _PAIR.match(stem):
        return stem[:3], stem[3:], is_otc
    return stem.lstrip("#"), "", is_otc


def instrument_id_for(symbol: str, venue: str = VENUE) -> str:
    """`EURUSD` -> `EUR/USD.POCKET_OPTION`, `EURUSD_otc` -> `EUR/USD-OTC.POCKET_OPTION`,
    `#AAPL` -> `AAPL.POCKET_OPTION`."""
    base, quote, is_otc = split_symbol(symbol)
    name = f"{base}/{quote}" if quote else base
    return instrument_id(f"{name}-OTC" if is_otc else name, venue)


def quote_from_tick(tick: StreamTick, *, ts_init: int, venue: str = VENUE) -> QuoteTick:
    """Pocket Option streams one price: it is both bid and ask."""
    return QuoteTick(instrument_id=instrument_id_for(tick.symbol, venue), venue=venue,
                     symbol=tick.symbol, bid=tick.price, ask=tick.price, ts_event=tick.ts_ns,
                     ts_init=ts_init)


def binary_asset(row: AssetRow) -> BinaryAsset:
    return BinaryAsset(symbol=row.symbol, name=row.name, payout_pct=row.payout_pct,
                       expiries_s=row.times_s, active=row.is_active, is_otc=row.is_otc)


def binary_assets_event(rows: Iterable[AssetRow], *, ts_event: int, ts_init: int,
                        venue: str = VENUE) -> BinaryAssetsUpdated:
    """The asset list with payouts and durations, in symbol order."""
    return BinaryAssetsUpdated(venue=venue, ts_event=ts_event, ts_init=ts_init,
                               assets=tuple(binary_asset(r)
                                            for r in sorted(rows, key=lambda r: r.symbol)))


def instrument_info(row: AssetRow, venue: str = VENUE) -> InstrumentInfo:
    base, quote, _ = split_symbol(row.symbol)
    kind = InstrumentKind.FX if row.asset_type == "currency" else InstrumentKind.SPOT
    return InstrumentInfo(instrument_id=instrument_id_for(row.symbol, venue), venue=venue,
                          symbol=row.symbol, base=base, quote=quote, instrument_kind=kind,
                          active=row.is_active)


def instruments_event(rows: Sequence[AssetRow], *, ts_event: int, ts_init: int,
                      venue: str = VENUE) -> InstrumentsUpdated:
    """The asset list as markets metadata, in symbol order."""
    return InstrumentsUpdated(venue=venue, ts_event=ts_event, ts_init=ts_init,
                              instruments=tuple(instrument_info(r, venue)
                                                for r in sorted(rows, key=lambda r: r.symbol)))
