"""Net positions in Decimal with average-cost accounting, and the trades they close.

A position is signed base units under one `position_key`; every fill of any order under that
key nets into it (arbitrage legs on two venues share a key, so buying on one venue and selling
on the other nets to flat). Fills that grow the position move the average price; fills that
shrink it realize `(fill_price - avg) * closed_qty * sign`. A fill through zero first closes,
then opens the remainder at the fill price; its fee is split in proportion. Fees accumulate
and are subtracted from realized PnL.

The position keeps its cost basis (sum of entry notional still held) rather than the rounded
average, so a trade closed flat realizes exactly `sign * (exit notional - entry notional)`.
A trade is the life of a position from flat to flat; it closes exactly at zero.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from libs.common.enums import Engine

ZERO = Decimal(0)


def _sign(x: Decimal) -> int:
    return (x > 0) - (x < 0)


@dataclass(frozen=True)
class ClosedTrade:
    """A flat-to-flat round trip of one position: what TradeClosed reports."""

    position_key: str
    opening_fill_id: str
    closing_fill_id: str
    opening_intent_id: str
    intent_ids: tuple[str, ...]
    opportunity_ids: tuple[str, ...]
    quantity: Decimal  # largest absolute position held, base units
    entry_price: Decimal  # VWAP of the fills that grew the position
    exit_price: Decimal  # VWAP of the fills that shrank it
    gross_pnl: Decimal
    fees: Decimal
    opened_ts: int
    closed_ts: int

    @property
    def realized_pnl(self) -> Decimal:
        return self.gross_pnl - self.fees

    def to_state(self) -> dict[str, Any]:
        """JSON-ready copy (Decimals as strings) for the OMS snapshot."""
        return {k: (str(v) if isinstance(v, Decimal) else list(v) if isinstance(v, tuple)
                    else v) for k, v in asdict(self).items()}

    @classmethod
    def from_state(cls, doc: dict[str, Any]) -> ClosedTrade:
        return cls(
            position_key=doc["position_key"], opening_fill_id=doc["opening_fill_id"],
            closing_fill_id=doc["closing_fill_id"], opening_intent_id=doc["opening_intent_id"],
            intent_ids=tuple(doc["intent_ids"]), opportunity_ids=tuple(doc["opportunity_ids"]),
            quantity=Decimal(doc["quantity"]), entry_price=Decimal(doc["entry_price"]),
            exit_price=Decimal(doc["exit_price"]), gross_pnl=Decimal(doc["gross_pnl"]),
            fees=Decimal(doc["fees"]), opened_ts=int(doc["opened_ts"]),
            closed_ts=int(doc["closed_ts"]))


_BUILDER_DECIMALS = ("entry_qty", "entry_notional", "exit_qty", "exit_notional", "gross", "fees",
                     "max_abs")


@dataclass
class _TradeBuilder:
    opened_ts: int
    opening_fill_id: str
    opening_intent_id: str
    intent_ids: dict[str, None] = field(default_factory=dict)  # ordered set
    opportunity_ids: dict[str, None] = field(default_factory=dict)
    entry_qty: Decimal = ZERO
    entry_notional: Decimal = ZERO
    exit_qty: Decimal = ZERO
    exit_notional: Decimal = ZERO
    gross: Decimal = ZERO
    fees: Decimal = ZERO
    max_abs: Decimal = ZERO

    def note(self, intent_id: str, opportunity_id: str | None) -> None:
        self.intent_ids[intent_id] = None
        if opportunity_id:
            self.opportunity_ids[opportunity_id] = None

    def close(self, key: str, fill_id: str, ts: int) -> ClosedTrade:
        return ClosedTrade(
            position_key=key, opening_fill_id=self.opening_fill_id, closing_fill_id=fill_id,
            opening_intent_id=self.opening_intent_id, intent_ids=tuple(self.intent_ids),
            opportunity_ids=tuple(self.opportunity_ids), quantity=self.max_abs,
            entry_price=self.entry_notional / self.entry_qty,
            exit_price=self.exit_notional / self.exit_qty,
            gross_pnl=self.gross, fees=self.fees, opened_ts=self.opened_ts, closed_ts=ts,
        )

    def to_state(self) -> dict[str, Any]:
        doc: dict[str, Any] = {k: str(getattr(self, k)) for k in _BUILDER_DECIMALS}
        return doc | {"opened_ts": self.opened_ts, "opening_fill_id": self.opening_fill_id,
                      "opening_intent_id": self.opening_intent_id,
                      "intent_ids": list(self.intent_ids),
                      "opportunity_ids": list(self.opportunity_ids)}

    @classmethod
    def from_state(cls, doc: dict[str, Any]) -> _TradeBuilder:
        return cls(opened_ts=int(doc["opened_ts"]), opening_fill_id=doc["opening_fill_id"],
                   opening_intent_id=doc["opening_intent_id"],
                   intent_ids=dict.fromkeys(doc["intent_ids"]),
                   opportunity_ids=dict.fromkeys(doc["opportunity_ids"]),
                   **{k: Decimal(doc[k]) for k in _BUILDER_DECIMALS})


class Position:
    """One net position: signed base quantity, cost basis, realized PnL, fees and mark.

    `dust` (base units, default 0 = exactly flat): a residual at or below it after a reducing
    fill is treated as closed at that fill's price. Needed only where legs in different units
    net into one key (inverse contracts against spot leave a tiny base residual that never
    returns to exactly zero); it books that residual's PnL as if traded, without a fee.
    """

    def __init__(self, position_key: str, engine: Engine, strategy: str,
                 dust: Decimal = ZERO) -> None:
        self.position_key = position_key
        self.engine = engine
        self.strategy = strategy
        self.instrument_id: str | None = None  # of the last fill; bars of it mark the position
        self._dust = dust
        self._qty = ZERO
        self._cost = ZERO  # entry notional of the quantity still held (>= 0)
        self._gross = ZERO
        self._fees = ZERO
        self._mark: Decimal | None = None
        self._trade: _TradeBuilder | None = None
        self.trades_closed = 0

    # ---- state --------------------------------------------------------------------------

    @property
    def quantity(self) -> Decimal:
        """Signed base units: > 0 long, < 0 short."""
        return self._qty

    @property
    def is_open(self) -> bool:
        return self._qty != 0

    @property
    def avg_price(self) -> Decimal:
        """Average entry price of the quantity held; 0 when flat."""
        return self._cost / abs(self._qty) if self._qty else ZERO

    @property
    def gross_realized(self) -> Decimal:
        return self._gross

    @property
    def fees(self) -> Decimal:
        """All fees paid on this key, cumulative."""
        return self._fees

    @property
    def realized_pnl(self) -> Decimal:
        """Cumulative realized PnL after fees, quote units."""
        return self._gross - self._fees

    @property
    def mark_price(self) -> Decimal | None:
        return self._mark

    @property
    def unrealized_pnl(self) -> Decimal:
        """(mark - avg) * qty, computed from the cost basis; 0 when flat or unmarked."""
        if not self._qty or self._mark is None:
            return ZERO
        return self._mark * self._qty - _sign(self._qty) * self._cost

    # ---- snapshot -----------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """Everything this position knows, JSON-ready (Decimals as strings); `dust` is
        configuration, not state, and is given again to `from_state`."""
        return {
            "position_key": self.position_key, "engine": self.engine.value,
            "strategy": self.strategy, "instrument_id": self.instrument_id,
            "qty": str(self._qty), "cost": str(self._cost), "gross": str(self._gross),
            "fees": str(self._fees), "mark": None if self._mark is None else str(self._mark),
            "trade": None if self._trade is None else self._trade.to_state(),
            "trades_closed": self.trades_closed,
        }

    @classmethod
    def from_state(cls, doc: dict[str, Any], dust: Decimal = ZERO) -> Position:
        """The position `to_state` described."""
        pos = cls(doc["position_key"], Engine(doc["engine"]), doc["strategy"], dust)
        pos.instrument_id = doc["instrument_id"]
        pos._qty, pos._cost = Decimal(doc["qty"]), Decimal(doc["cost"])
        pos._gross, pos._fees = Decimal(doc["gross"]), Decimal(doc["fees"])
        pos._mark = None if doc["mark"] is None else Decimal(doc["mark"])
        pos._trade = None if doc["trade"] is None else _TradeBuilder.from_state(doc["trade"])
        pos.trades_closed = int(doc["trades_closed"])
        return pos

    # ---- changes ------------------------------------------------------------------------

    def mark(self, price: Decimal) -> None:
        """Set the price unrealized PnL is measured against."""
        self._mark = price

    def apply_fill(self, quantity: Decimal, price: Decimal, fee: Decimal, ts: int,
                   fill_id: str, intent_id: str,
                   opportunity_id: str | None = None) -> ClosedTrade | None:
        """Net a fill of signed base `quantity` at `price`; return the trade it closes, if any."""
        if quantity == 0:
            raise ValueError("a fill must have a non-zero quantity")
        if self._qty == 0 or _sign(self._qty) == _sign(quantity):
            self._grow(quantity, price, fee, ts, fill_id, intent_id, opportunity_id)
            return None
        trade = self._trade
        assert trade is not None  # an open position always has its trade
        held = abs(self._qty)
        closing = min(abs(quantity), held)
        opening = abs(quantity) - closing
        fee_close = fee if opening == 0 else fee * closing / abs(quantity)
        pos_sign = _sign(self._qty)
        cost_out = self._cost if closing == held else self._cost * closing / held
        gross = pos_sign * (price * closing - cost_out)
        self._cost -= cost_out
        self._qty -= pos_sign * closing
        self._book(trade, gross, fee_close, intent_id, opportunity_id)
        trade.exit_qty += closing
        trade.exit_notional += price * closing
        if self._qty and abs(self._qty) <= self._dust:
            residual = abs(self._qty)
            self._book(trade, pos_sign * (price * residual - self._cost), ZERO, intent_id,
                       opportunity_id)
            trade.exit_qty += residual
            trade.exit_notional += price * residual
            self._qty = self._cost = ZERO
        if self._qty:
            return None
        closed = trade.close(self.position_key, fill_id, ts)
        self._trade = None
        self.trades_closed += 1
        if opening:
            self._grow(_sign(quantity) * opening, price, fee - fee_close, ts, fill_id, intent_id,
                       opportunity_id)
        return closed

    def _grow(self, quantity: Decimal, price: Decimal, fee: Decimal, ts: int, fill_id: str,
              intent_id: str, opportunity_id: str | None) -> None:
        if self._trade is None:
            self._trade = _TradeBuilder(opened_ts=ts, opening_fill_id=fill_id,
                                        opening_intent_id=intent_id)
        trade = self._trade
        size = abs(quantity)
        self._qty += quantity
        self._cost += price * size
        self._book(trade, ZERO, fee, intent_id, opportunity_id)
        trade.entry_qty += size
        trade.entry_notional += price * size
        trade.max_abs = max(trade.max_abs, abs(self._qty))

    def _book(self, trade: _TradeBuilder, gross: Decimal, fee: Decimal, intent_id: str,
              opportunity_id: str | None) -> None:
        self._gross += gross
        self._fees += fee
        trade.gross += gross
        trade.fees += fee
        trade.note(intent_id, opportunity_id)
