"""ccxt's unified structures (markets, order books) into our events. Pure: no I/O, no ccxt.

ccxt hands market metadata and books over as floats (its websocket books store floats even
when the venue sent strings). A float becomes a Decimal through its shortest repr
(`Decimal(str(x))`), which gives back the venue's decimal exactly for any price or size with at
most 15 significant digits; it is never rounded to a precision here.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from libs.common.enums import InstrumentKind
from libs.common.errors import ConfigurationError, ValidationFailed
from libs.common.events import InstrumentInfo, InstrumentsUpdated, OrderBookUpdated
from libs.common.identifiers import instrument_id

# ccxt's precision modes (ccxt.base.decimal_to_precision), repeated so this module needs no ccxt.
DECIMAL_PLACES = 2
SIGNIFICANT_DIGITS = 3
TICK_SIZE = 4

NS_PER_MS = 1_000_000
_LIMIT = Decimal("1e15")  # no price or size comes near; also rejects huge garbage

Level = tuple[Decimal, Decimal]


class BookInvalid(ValidationFailed):
    """A book from ccxt that must not be published (bad level, wrong order); says why."""


def to_decimal(value: Any, what: str) -> Decimal:
    """A finite Decimal from a ccxt number or numeric string; ValidationFailed otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise ValidationFailed(f"{what} must be a number, got {value!r}"[:200])
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationFailed(f"{what} is not finite: {value!r}")
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise ValidationFailed(f"{what} is not a number: {value!r}"[:200]) from None
    if not d.is_finite():
        raise ValidationFailed(f"{what} is not finite: {value!r}")
    return d


def _optional_positive(value: Any, what: str) -> Decimal | None:
    """None for a missing or non-positive limit (ccxt writes 0 or None for 'no minimum')."""
    if value is None:
        return None
    d = to_decimal(value, what)
    return d if d > 0 else None


def step_from_precision(value: Any, precision_mode: int, what: str) -> Decimal | None:
    """ccxt's `precision` entry as a step (tick or lot size), whatever ccxt's precision mode.

    TICK_SIZE: the value is the step. DECIMAL_PLACES: n -> 10**-n. SIGNIFICANT_DIGITS has no
    fixed step, so None.
    """
    if value is None:
        return None
    if precision_mode == TICK_SIZE:
        return _optional_positive(value, what)
    if precision_mode == DECIMAL_PLACES:
        places = to_decimal(value, what)
        if places != places.to_integral_value():
            raise ValidationFailed(f"{what}: {value!r} decimal places is not an integer")
        return Decimal(1).scaleb(-int(places))
    return None


def spot_instrument_id(symbol: str, venue: str) -> str | None:
    """`BASE/QUOTE.VENUE` for a ccxt spot symbol; None for contracts (`BTC/USDT:USDT`)."""
    if ":" in symbol or symbol.count("/") != 1:
        return None
    return instrument_id(symbol, venue)


def symbol_of(iid: str, venue: str) -> str:
    """The ccxt symbol of our instrument id; ConfigurationError if it names another venue."""
    suffix = f".{venue}"
    if not iid.endswith(suffix):
        raise ConfigurationError(f"{iid!r} is not an instrument of {venue} (expected "
                                 f"BASE/QUOTE{suffix})")
    symbol = iid[: -len(suffix)]
    if symbol.count("/") != 1 or not all(symbol.split("/")):
        raise ConfigurationError(f"{iid!r}: expected BASE/QUOTE{suffix}")
    return symbol


def instrument_info(venue: str, market: Mapping[str, Any],
                    precision_mode: int = TICK_SIZE) -> InstrumentInfo | None:
    """The trading rules of one ccxt market, as ccxt states them; None for non-spot markets.

    tick = precision.price, lot = precision.amount, min quantity = limits.amount.min, min
    notional = limits.cost.min, fees = taker / maker. A limit ccxt gives as 0 or None is None
    ("no minimum"). `active` None (unknown to ccxt) counts as active.
    """
    symbol = market.get("symbol")
    if not isinstance(symbol, str) or not market.get("spot"):
        return None
    iid = spot_instrument_id(symbol, venue)
    if iid is None:
        return None
    base, quote = symbol.split("/")
    where = f"{venue} {symbol}"
    precision = market.get("precision") or {}
    limits = market.get("limits") or {}
    venue_id = market.get("id")
    if not isinstance(venue_id, str) or not venue_id:
        raise ValidationFailed(f"{where}: market has no venue id")
    return InstrumentInfo(
        instrument_id=iid, venue=venue, symbol=venue_id, base=base, quote=quote,
        instrument_kind=InstrumentKind.SPOT, active=market.get("active") is not False,
        tick_size=step_from_precision(precision.get("price"), precision_mode,
                                      f"{where} price precision"),
        lot_size=step_from_precision(precision.get("amount"), precision_mode,
                                     f"{where} amount precision"),
        min_quantity=_optional_positive((limits.get("amount") or {}).get("min"),
                                        f"{where} min amount"),
        min_notional=_optional_positive((limits.get("cost") or {}).get("min"),
                                        f"{where} min cost"),
        taker_fee=(None if market.get("taker") is None
                   else to_decimal(market["taker"], f"{where} taker fee")),
        maker_fee=(None if market.get("maker") is None
                   else to_decimal(market["maker"], f"{where} maker fee")),
    )


def instruments_of(venue: str, markets: Iterable[Mapping[str, Any]],
                   precision_mode: int = TICK_SIZE) -> tuple[InstrumentInfo, ...]:
    """Every spot market as `InstrumentInfo`, sorted by instrument id (stable for comparing)."""
    out = [i for m in markets if (i := instrument_info(venue, m, precision_mode)) is not None]
    return tuple(sorted(out, key=lambda i: i.instrument_id))


def instruments_event(venue: str, instruments: tuple[InstrumentInfo, ...],
                      ts_event: int) -> InstrumentsUpdated:
    """The `InstrumentsUpdated` of a venue's instruments, loaded at `ts_event`."""
    return InstrumentsUpdated(ts_event=ts_event, venue=venue, instruments=instruments)


class InstrumentsTracker:
    """Remembers the last published instruments: publish once, then only on change."""

    def __init__(self) -> None:
        self._last: tuple[InstrumentInfo, ...] | None = None

    def changed(self, instruments: tuple[InstrumentInfo, ...]) -> bool:
        """True (and remembered) if `instruments` differ from the last ones seen here."""
        if instruments == self._last:
            return False
        self._last = instruments
        return True


def top_levels(levels: Sequence[Sequence[Any]], depth: int, side: str,
               where: str) -> tuple[Level, ...]:
    """The best `depth` levels of one ccxt book side as Decimals, checked.

    ccxt gives `[price, size, ...]` best first. A level that is not two positive finite
    numbers, or a side out of order, raises BookInvalid: the book is not published.
    """
    out: list[Level] = []
    for n, level in enumerate(levels[:depth]):
        if not isinstance(level, (list, tuple)) or len(level) < 2:
            raise BookInvalid(f"{where} {side}[{n}] is not [price, size]: {level!r}"[:200])
        try:
            price = to_decimal(level[0], f"{where} {side}[{n}] price")
            size = to_decimal(level[1], f"{where} {side}[{n}] size")
        except ValidationFailed as e:
            raise BookInvalid(str(e)) from None
        if not (0 < price < _LIMIT and 0 < size < _LIMIT):
            raise BookInvalid(f"{where} {side}[{n}] out of range: [{price}, {size}]")
        if out:
            prev = out[-1][0]
            if (side == "bids" and price >= prev) or (side == "asks" and price <= prev):
                raise BookInvalid(f"{where} {side} not best first at level {n}: {prev} then "
                                  f"{price}")
        out.append((price, size))
    return tuple(out)


def book_event(*, venue: str, iid: str, venue_symbol: str, base: str, quote: str,
               bids: tuple[Level, ...], asks: tuple[Level, ...], ts_event: int, ts_init: int,
               sequence: int, is_snapshot: bool) -> OrderBookUpdated:
    """The `OrderBookUpdated` of a checked top of book; BookInvalid if bid >= ask."""
    if bids and asks and bids[0][0] >= asks[0][0]:
        raise BookInvalid(f"{iid} crossed: best bid {bids[0][0]} >= best ask {asks[0][0]}")
    return OrderBookUpdated(
        ts_event=ts_event, ts_init=ts_init, instrument_id=iid, venue=venue,
        symbol=venue_symbol, instrument_kind=InstrumentKind.SPOT, base=base, quote=quote,
        sequence=sequence, bids=bids, asks=asks, is_snapshot=is_snapshot,
    )


class BookTracker:
    """Per-instrument state that decides what to publish from ccxt's successive books.

    - only when the top `depth` changed, or on the first book after a (re)subscription
      (published with `is_snapshot=True`);
    - `ts_event` never goes back for one instrument: a venue time behind the last published
      one is raised to it (counted in `ts_raised`);
    - `sequence` is the venue's update id where it numbers its books, else a local count of
      books published for the instrument (monotonic either way).
    """

    def __init__(self) -> None:
        self._last_top: dict[str, tuple[tuple[Level, ...], tuple[Level, ...]]] = {}
        self._last_ts: dict[str, int] = {}
        self._last_seq: dict[str, int] = {}
        self._local_seq: dict[str, int] = {}
        self._fresh: set[str] = set()
        self.ts_raised = 0

    def resubscribed(self, iid: str) -> None:
        """The next book of `iid` starts a new chain (after a snapshot, resync or reconnect)."""
        self._fresh.add(iid)
        self._last_top.pop(iid, None)

    def last_sequence(self, iid: str) -> int:
        """`sequence` of the last book published for `iid` (0 before any)."""
        return self._last_seq.get(iid, 0)

    def last_ts(self, iid: str) -> int | None:
        """`ts_event` of the last book published for `iid`, if any."""
        return self._last_ts.get(iid)

    def is_fresh(self, iid: str) -> bool:
        """True until a book of the current chain was published (-> `is_snapshot`)."""
        return iid in self._fresh or iid not in self._last_top

    def should_publish(self, iid: str, bids: tuple[Level, ...], asks: tuple[Level, ...]) -> bool:
        """True if this top differs from the last published one, or starts a chain."""
        return self.is_fresh(iid) or self._last_top.get(iid) != (bids, asks)

    def stamp(self, iid: str, venue_ts_ms: int) -> int:
        """`ts_event` (ns) for a book of venue time `venue_ts_ms`, never before the last."""
        ts = venue_ts_ms * NS_PER_MS
        last = self._last_ts.get(iid, 0)
        if ts < last:
            self.ts_raised += 1
            ts = last
        return ts

    def sequence(self, iid: str, venue_nonce: Any) -> int:
        """The venue's update id if it gives one, else the next local count."""
        if isinstance(venue_nonce, int) and not isinstance(venue_nonce, bool) and venue_nonce >= 0:
            return venue_nonce
        return self._local_seq.get(iid, 0) + 1

    def published(self, event: OrderBookUpdated, venue_numbered: bool) -> None:
        """Remember `event` as the last published book of its instrument."""
        iid = event.instrument_id
        self._last_top[iid] = (event.bids, event.asks)
        self._last_ts[iid] = event.ts_event
        self._last_seq[iid] = event.sequence
        if not venue_numbered:
            self._local_seq[iid] = event.sequence
        self._fresh.discard(iid)
