"""The currency-conversion graph of a set of spot markets, for multi-hop arbitrage. Pure.

Nodes are assets. Market `m` (BASE/QUOTE) gives two directed edges:

- edge `2m`, BASE -> QUOTE: sell base at the best bid, rate = bid x (1 - taker fee);
- edge `2m + 1`, QUOTE -> BASE: buy base at the best ask, rate = (1 - taker fee) / ask.

The fee is taken from what the leg receives (Binance spot charges the received asset when no
BNB is used; in quote terms it is fee rate x leg notional either way). Edge weight is
-log(rate), so a cycle whose weights sum below zero multiplies money by more than one.

Weights are kept in fixed point, `SCALE` units per natural-log unit, as int64: sums of integers
are exact, so a cycle sum kept up to date by adding deltas never drifts from a fresh
recomputation (cycles.py relies on it). 1e-12 in log is 1e-8 bp per edge: far below any price
tick. The weight is split in two: the gross part (-log(bid) or log(ask)), which changes with
quotes, and the fee part (-log(1 - fee)), fixed per market set.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from libs.common.enums import InstrumentKind, OrderSide
from libs.common.errors import ConfigurationError
from libs.common.events.market import InstrumentInfo
from services.scanner.domain.fees import FeeSchedule

SCALE = 1e12  # weight units per natural-log unit
# Weight of an edge without a usable quote. Larger than any three real weights together
# (|log rate| < 70 for prices between 1e-30 and 1e30), so a cycle through it is never negative;
# four of them still fit in int64.
UNQUOTED = 1 << 52


@dataclass(frozen=True, slots=True)
class Market:
    """One spot market as the rate graph sees it.

    `taker_rate` is the fraction of notional charged per taker fill; `info` carries the lot
    size and minimums the depth check rounds to (None: no rounding, no minimum).
    """

    instrument_id: str
    venue: str
    base: str
    quote: str
    taker_rate: Decimal
    info: InstrumentInfo | None = None

    @classmethod
    def from_info(cls, info: InstrumentInfo, fees: FeeSchedule) -> Market:
        """A market from the venue's instrument rules; the fee comes from `fees` (the same
        schedule the two-leg scanner and the paper venue use), not from `info.taker_fee`."""
        return cls(info.instrument_id, info.venue, info.base, info.quote,
                   fees.rate(info.venue, "taker"), info)


def markets_from_infos(infos: Iterable[InstrumentInfo], fees: FeeSchedule) -> list[Market]:
    """The active SPOT markets of `infos`.

    Perpetuals and futures are left out: they do not turn one asset into another (a long perp
    is a position margined in the quote, not a holding of the base), so they cannot be hops.
    """
    return [Market.from_info(i, fees) for i in infos
            if i.active and i.instrument_kind is InstrumentKind.SPOT]


def edge_side(edge: int) -> OrderSide:
    """SELL for a BASE -> QUOTE edge, BUY for QUOTE -> BASE."""
    return OrderSide.SELL if edge % 2 == 0 else OrderSide.BUY


def to_weight(log_value: float) -> int:
    """A natural-log value in fixed-point weight units."""
    return round(log_value * SCALE)


class RateGraph:
    """Topology of the conversion graph and the fixed fee part of every edge weight.

    Edge `e` runs `src[e]` -> `dst[e]` through market `e // 2`. One extra edge id,
    `dummy_edge` (= number of edges), has weight 0: 3-cycles are stored as 4 edge ids padded
    with it. Quote-dependent weights live in the cycle search, not here.
    """

    def __init__(self, markets: Sequence[Market]) -> None:
        ids = [m.instrument_id for m in markets]
        if len(set(ids)) != len(ids):
            raise ConfigurationError("rate graph: an instrument id is listed twice")
        for m in markets:
            if m.base == m.quote:
                raise ConfigurationError(f"rate graph: {m.instrument_id} has base == quote")
            if not Decimal(0) <= m.taker_rate < Decimal(1):
                raise ConfigurationError(f"rate graph: {m.instrument_id} taker rate "
                                         f"{m.taker_rate} outside [0, 1)")
        self.markets: tuple[Market, ...] = tuple(markets)
        self.assets: tuple[str, ...] = tuple(sorted({a for m in markets
                                                     for a in (m.base, m.quote)}))
        self.asset_index: dict[str, int] = {a: i for i, a in enumerate(self.assets)}
        self.market_index: dict[str, int] = {m.instrument_id: i for i, m in enumerate(markets)}
        n_edges = 2 * len(markets)
        src = np.empty(n_edges, dtype=np.int32)
        dst = np.empty(n_edges, dtype=np.int32)
        fee = np.zeros(n_edges + 1, dtype=np.int64)
        for i, m in enumerate(markets):
            b, q = self.asset_index[m.base], self.asset_index[m.quote]
            src[2 * i], dst[2 * i] = b, q
            src[2 * i + 1], dst[2 * i + 1] = q, b
            fee[2 * i] = fee[2 * i + 1] = to_weight(-math.log1p(-float(m.taker_rate)))
        self.src = src
        self.dst = dst
        self.fee_weight = fee

    @property
    def n_edges(self) -> int:
        """Real edges (two per market)."""
        return len(self.src)

    @property
    def dummy_edge(self) -> int:
        """The weight-0 padding edge id."""
        return len(self.src)

    def edge_assets(self, edge: int) -> tuple[str, str]:
        """(from asset, to asset) of `edge`."""
        return self.assets[self.src[edge]], self.assets[self.dst[edge]]

    @staticmethod
    def gross_weights(bid: float, ask: float) -> tuple[int, int]:
        """(sell edge, buy edge) gross weights for a top of book: -log(bid) and log(ask)."""
        return to_weight(-math.log(bid)), to_weight(math.log(ask))
