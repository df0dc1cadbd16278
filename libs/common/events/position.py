"""OMS output: positions and closed trades (`oms.positions`, `oms.trades`)."""
from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from libs.common.enums import CloseCause, Engine
from libs.common.events.base import Event, Money


class PositionUpdated(Event):
    kind: Literal["oms.position"] = "oms.position"
    position_key: str
    engine: Engine
    strategy: str
    quantity: Money  # signed, base units
    avg_price: Money
    realized_pnl: Money  # cumulative, quote units, after fees
    unrealized_pnl: Money
    fees: Money
    mark_price: Money | None = None


class TradeClosed(Event):
    """A position went back to flat: the outcome learning is rewarded with."""

    kind: Literal["oms.trade"] = "oms.trade"
    trade_id: str
    position_key: str
    engine: Engine
    strategy: str
    intent_ids: tuple[str, ...]
    opportunity_ids: tuple[str, ...]
    policy_version: int = Field(ge=0)
    quantity: Money  # largest absolute position held, base units
    entry_price: Money
    exit_price: Money
    gross_pnl: Money
    fees: Money
    realized_pnl: Money  # gross - fees
    opened_ts: int = Field(ge=0)
    closed_ts: int = Field(ge=0)
    cause: CloseCause = CloseCause.OTHER  # v2

    schema_version: int = 2
    SUPPORTED_VERSIONS: ClassVar[frozenset[int]] = frozenset({1, 2})
