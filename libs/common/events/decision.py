"""Decisions: approved order intents and denials (`orders.intents`, `decisions.rejected`)."""
from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from libs.common.enums import DenialReason, Engine, OrderSide, OrderType
from libs.common.events.base import Event, Money, Record


class IntentLeg(Record):
    """One order the intent asks execution to place."""

    leg_id: str
    instrument_id: str
    side: OrderSide
    order_type: OrderType
    quantity: Money  # venue-native units (contracts for INVERSE)
    base_quantity: Money  # base units, for the OMS position
    limit_price: Money | None = None


class Bracket(Record):
    take_profit: Money
    stop_loss: Money


class OrderIntentApproved(Event):
    """The risk gate approved an opportunity: these orders may be placed."""

    kind: Literal["decision.intent"] = "decision.intent"
    intent_id: str
    opportunity_id: str
    engine: Engine
    strategy: str
    policy_version: int = Field(ge=0)
    position_key: str  # OMS nets every leg of the intent into this position
    legs: tuple[IntentLeg, ...]
    bracket: Bracket | None = None
    notional: Money
    expected_net_pnl: Money | None = None
    signal_ts: int = Field(ge=0, description="ts_event of the quote the opportunity was priced on")


class OrderDenied(Event):
    """The risk gate refused an opportunity, with a named reason."""

    kind: Literal["decision.denied"] = "decision.denied"
    opportunity_id: str
    engine: Engine
    strategy: str
    reason: DenialReason
    detail: str
    policy_version: int = Field(ge=0)
    net_edge_bps: Money | None = None


class KillSwitchSet(Event):
    """Operator control: HALTED (active: nothing new), REDUCING (active and reduce_only: only
    exposure-reducing orders), or RUNNING (not active)."""

    kind: Literal["control.kill_switch"] = "control.kill_switch"
    active: bool
    reduce_only: bool = False  # v2
    reason: str = ""

    schema_version: int = 2
    SUPPORTED_VERSIONS: ClassVar[frozenset[int]] = frozenset({1, 2})
