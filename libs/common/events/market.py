"""Market data events (`md.*` streams)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from libs.common.enums import ChainId, InstrumentKind
from libs.common.events.base import Event, Money, Record

Level = tuple[Money, Money]  # (price, size in the venue's native unit)


class OrderBookUpdated(Event):
    """Top-of-book depth after an exactly applied diff (or a snapshot)."""

    kind: Literal["md.book"] = "md.book"
    instrument_id: str
    venue: str
    symbol: str
    instrument_kind: InstrumentKind
    base: str
    quote: str
    contract_size: Money | None = None  # quote units per contract, INVERSE only
    sequence: int = Field(ge=0, description="venue update id of the last applied diff")
    bids: tuple[Level, ...]  # best first
    asks: tuple[Level, ...]  # best first
    is_snapshot: bool = False


class BarClosed(Event):
    """A closed bar with separate bid and ask OHLC. ts_event is the bar's close time."""

    kind: Literal["md.bar"] = "md.bar"
    instrument_id: str
    venue: str
    symbol: str
    base: str
    quote: str
    timeframe_s: int = Field(gt=0)
    ts_open: int = Field(ge=0)
    bid_open: Money
    bid_high: Money
    bid_low: Money
    bid_close: Money
    ask_open: Money
    ask_high: Money
    ask_low: Money
    ask_close: Money


class BookGapDetected(Event):
    """A diff did not follow the book; the book was discarded until it can be rebuilt."""

    kind: Literal["md.gap"] = "md.gap"
    instrument_id: str
    expected_from: int
    got_from: int
    detail: str


class ReplayFinished(Event):
    """End of a replay: downstream flushes what waits for more data."""

    kind: Literal["md.replay_finished"] = "md.replay_finished"
    source: str
    events_published: int = Field(ge=0)


class QuoteTick(Event):
    """Best bid/ask at one moment (a venue's ticker or an MT5 tick)."""

    kind: Literal["md.quote"] = "md.quote"
    instrument_id: str
    venue: str
    symbol: str
    bid: Money
    ask: Money
    bid_size: Money | None = None
    ask_size: Money | None = None


class InstrumentInfo(Record):
    """Trading rules of one instrument as the venue states them."""

    instrument_id: str
    venue: str
    symbol: str  # the venue's own symbol, e.g. BTCUSDT
    base: str
    quote: str
    instrument_kind: InstrumentKind
    active: bool = True
    tick_size: Money | None = None
    lot_size: Money | None = None
    min_quantity: Money | None = None
    min_notional: Money | None = None
    contract_size: Money | None = None
    taker_fee: Money | None = None
    maker_fee: Money | None = None


class InstrumentsUpdated(Event):
    """A venue's markets metadata, published at start and whenever it changes."""

    kind: Literal["md.instruments"] = "md.instruments"
    venue: str
    instruments: tuple[InstrumentInfo, ...]


class PoolStateUpdated(Event):
    """A constant-product DEX pool's reserves at a block."""

    kind: Literal["md.pool"] = "md.pool"
    chain_id: ChainId
    pool_address: str
    token0: str  # token addresses, checksummed
    token1: str
    symbol0: str
    symbol1: str
    decimals0: int = Field(ge=0, le=36)
    decimals1: int = Field(ge=0, le=36)
    reserve0: int = Field(ge=0)  # raw integer units, as on chain
    reserve1: int = Field(ge=0)
    fee_bps: int = Field(ge=0, le=10_000)
    block_number: int = Field(ge=0)


class BinaryAsset(Record):
    symbol: str
    name: str
    payout_pct: Money  # paid on a win, as a percentage of the stake (e.g. 92)
    expiries_s: tuple[int, ...]
    active: bool = True
    is_otc: bool = False


class BinaryAssetsUpdated(Event):
    """A binary-options broker's asset list with payouts and expiry times."""

    kind: Literal["md.binary_assets"] = "md.binary_assets"
    venue: str
    assets: tuple[BinaryAsset, ...]


class TradeTick(Event):
    """One trade on the venue's tape (for queue-position fills and checks against the tape)."""

    kind: Literal["md.trade"] = "md.trade"
    instrument_id: str
    venue: str
    price: Money
    quantity: Money  # venue-native units
    aggressor: Literal["BUY", "SELL"]  # the taker's side
    trade_id: str
