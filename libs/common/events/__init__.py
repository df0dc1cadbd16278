"""Event models. `decode()` turns a stream payload into its typed event, or raises."""
from __future__ import annotations

from typing import Annotated, Union

from pydantic import Field, TypeAdapter, ValidationError

from libs.common.errors import ValidationFailed
from libs.common.events.base import Event, Money, Record
from libs.common.events.decision import (
    Bracket,
    IntentLeg,
    KillSwitchSet,
    OrderDenied,
    OrderIntentApproved,
)
from libs.common.events.governor import AllocationUpdated, EngineAllocation
from libs.common.events.learning import PolicyUpdated
from libs.common.events.market import (
    BarClosed,
    BinaryAsset,
    BinaryAssetsUpdated,
    BookGapDetected,
    InstrumentInfo,
    InstrumentsUpdated,
    OrderBookUpdated,
    PoolStateUpdated,
    QuoteTick,
    ReplayFinished,
    TradeTick,
)
from libs.common.events.opportunity import (
    ArbitrageOpportunityDetected,
    BinarySignalDetected,
    FeaturesComputed,
    ForexSignalDetected,
    OpportunityLeg,
)
from libs.common.events.order import OrderClosed, OrderFilled, OrderSubmitted
from libs.common.events.position import PositionUpdated, TradeClosed

EVENT_TYPES: tuple[type[Event], ...] = (
    OrderBookUpdated,
    BarClosed,
    BookGapDetected,
    ReplayFinished,
    QuoteTick,
    TradeTick,
    InstrumentsUpdated,
    PoolStateUpdated,
    BinaryAssetsUpdated,
    ArbitrageOpportunityDetected,
    ForexSignalDetected,
    BinarySignalDetected,
    FeaturesComputed,
    OrderIntentApproved,
    OrderDenied,
    KillSwitchSet,
    OrderSubmitted,
    OrderFilled,
    OrderClosed,
    PositionUpdated,
    TradeClosed,
    PolicyUpdated,
    AllocationUpdated,
)

AnyEvent = Annotated[Union[EVENT_TYPES], Field(discriminator="kind")]  # type: ignore[valid-type]  # noqa: UP007
_ADAPTER: TypeAdapter[Event] = TypeAdapter(AnyEvent)


def decode(payload: bytes | str) -> Event:
    """Parse one JSON payload into its event class; raise ValidationFailed with the reason."""
    try:
        return _ADAPTER.validate_json(payload)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise ValidationFailed(f"{e.error_count()} error(s); first at {where or '<root>'}: "
                               f"{first.get('msg')}") from e


def encode(event: Event) -> bytes:
    return event.model_dump_json().encode()


__all__ = [
    "AllocationUpdated", "AnyEvent", "ArbitrageOpportunityDetected", "BarClosed", "BinaryAsset",
    "BinaryAssetsUpdated", "BinarySignalDetected", "BookGapDetected", "Bracket", "EVENT_TYPES",
    "EngineAllocation", "Event", "FeaturesComputed", "ForexSignalDetected", "InstrumentInfo",
    "InstrumentsUpdated", "IntentLeg", "KillSwitchSet", "Money", "OpportunityLeg",
    "OrderBookUpdated", "OrderClosed", "OrderDenied", "OrderFilled", "OrderIntentApproved",
    "OrderSubmitted", "PolicyUpdated", "PoolStateUpdated", "PositionUpdated", "QuoteTick",
    "Record", "ReplayFinished", "TradeClosed", "TradeTick", "decode", "encode",
]
