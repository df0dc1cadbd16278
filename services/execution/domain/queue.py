"""Queue-position model of one resting limit order. Pure: no clock, no I/O, no dice.

A limit order that does not cross the book when it reaches the venue joins the back of the
queue at its price: everything displayed at that price then is ahead of it. From there, in
event time:

- a tape trade AT its price whose aggressor is on the other side consumes the queue ahead
  first; what is left of the trade fills the order (partially, as the trade allows);
- a tape trade THROUGH its price (a seller printing below a resting bid, a buyer above a
  resting ask) swept the level: the whole remainder fills at the limit price;
- a book that crosses it (best ask <= bid limit, best bid >= ask limit) fills the whole
  remainder at the limit price;
- a book showing less size at its price than the queue ahead shrinks the queue to that size
  (what left the level, by trades or cancels, was ahead of us at most); size added later
  queues behind us, so the queue never grows ("risk averse", as hftbacktest's model). A level
  beyond the displayed depth is unknown and leaves the queue as it is.

When the price is beyond the displayed depth at entry the queue ahead is unknown and taken as
infinite: the order then fills only by trade-through or crossing until the level shows up.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal(0)
UNKNOWN = Decimal("Infinity")

Levels = Sequence[tuple[Decimal, Decimal]]


def displayed_size(levels: Levels, price: Decimal, is_bid: bool) -> Decimal:
    """Size shown at `price` on one side (best first); 0 if the price is inside the shown
    range but has no level, UNKNOWN if it lies beyond the displayed depth."""
    for p, size in levels:
        if p == price:
            return size
    if levels and ((price > levels[-1][0]) if is_bid else (price < levels[-1][0])):
        return ZERO
    return UNKNOWN


def crosses(is_buy: bool, limit: Decimal, bids: Levels, asks: Levels) -> bool:
    """Whether a limit at `limit` is marketable against this book."""
    if is_buy:
        return bool(asks) and asks[0][0] <= limit
    return bool(bids) and bids[0][0] >= limit


@dataclass
class RestingLimit:
    """A resting order's place in its price level. Quantities are venue-native units.

    `on_trade` / `on_book` return the quantity filled at `price` by that event (0 if none)
    and update `leaves` and `queue_ahead`.
    """

    is_buy: bool
    price: Decimal
    leaves: Decimal
    queue_ahead: Decimal

    @classmethod
    def join(cls, is_buy: bool, price: Decimal, quantity: Decimal, bids: Levels,
             asks: Levels) -> RestingLimit:
        """Join the back of the queue at `price` behind what the book displays there."""
        own = bids if is_buy else asks
        return cls(is_buy=is_buy, price=price, leaves=quantity,
                   queue_ahead=displayed_size(own, price, is_buy))

    @property
    def done(self) -> bool:
        return self.leaves <= 0

    def on_trade(self, price: Decimal, quantity: Decimal, aggressor: str) -> Decimal:
        """Apply one tape trade."""
        if self.done or aggressor == ("BUY" if self.is_buy else "SELL"):
            return ZERO  # same-side aggressor: it took liquidity from the other side
        if (price > self.price) if self.is_buy else (price < self.price):
            return ZERO  # printed at a worse price for the aggressor than ours: not reached
        if price != self.price:  # traded through our level: it was swept, us included
            self.queue_ahead = ZERO
            return self._fill(self.leaves)
        ahead = min(self.queue_ahead, quantity)
        self.queue_ahead -= ahead
        return self._fill(min(self.leaves, quantity - ahead))

    def on_book(self, bids: Levels, asks: Levels) -> Decimal:
        """Apply one book state: a crossing book fills the remainder; else shrink the queue."""
        if self.done:
            return ZERO
        if crosses(self.is_buy, self.price, bids, asks):
            self.queue_ahead = ZERO
            return self._fill(self.leaves)
        shown = displayed_size(bids if self.is_buy else asks, self.price, self.is_buy)
        self.queue_ahead = min(self.queue_ahead, shown)
        return ZERO

    def _fill(self, quantity: Decimal) -> Decimal:
        quantity = max(ZERO, quantity)
        self.leaves -= quantity
        return quantity
