"""Pocket Option payloads as typed records, field order and meaning as the broker sends them.

Sources (see README.md): BinaryOptionsTools-v2 `pocketoption/types.rs` (`StreamData`, the
19-element `AssetRawTuple`) and `modules/assets.rs` (its test row). Indices of the asset row that
nobody has documented are kept out of these records.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

# `updateAssets` row indices the library reads (types.rs `AssetRawTuple`); the others are unknown.
ROW_ID, ROW_SYMBOL, ROW_NAME, ROW_TYPE, ROW_PAYOUT = 0, 1, 2, 3, 5
ROW_IS_OTC, ROW_IS_ACTIVE, ROW_TIMES = 9, 14, 15
ROW_LEN = 19  # the library deserialises exactly 19 elements
ASSET_TYPES = frozenset({"stock", "currency", "commodity", "cryptocurrency", "index"})


@dataclass(frozen=True, slots=True)
class StreamTick:
    """One `updateStream` element `[symbol, unix_seconds, price]`, time already in ns."""

    symbol: str
    ts_ns: int
    price: Decimal


@dataclass(frozen=True, slots=True)
class AssetRow:
    """One `updateAssets` row: the fields whose meaning the library's source states.

    `times_s` is row index 15, a list of `{"time": seconds}`. The library calls it
    `allowed_candles`; it is the only per-asset list of durations the broker sends, and the
    adapter publishes it as the asset's allowed expiries (README.md explains the caveat).
    """

    asset_id: int
    symbol: str
    name: str
    asset_type: str
    payout_pct: Decimal
    is_otc: bool
    is_active: bool
    times_s: tuple[int, ...]
