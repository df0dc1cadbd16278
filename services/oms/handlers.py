"""OMS handler: intents and order reports update orders and positions; bars mark them."""
from __future__ import annotations

from collections.abc import Sequence

from libs.common.bus import Handler, Output
from libs.common.errors import ValidationFailed
from libs.common.events import (
    BarClosed,
    Event,
    OrderClosed,
    OrderFilled,
    OrderIntentApproved,
    OrderSubmitted,
    PositionUpdated,
    TradeClosed,
)
from libs.common.streams import OMS_POSITIONS, OMS_TRADES
from services.oms.domain.oms import Oms


def make_handler(oms: Oms, *, trades_stream: str = OMS_TRADES,
                 positions_stream: str = OMS_POSITIONS) -> Handler:
    """The bus handler over `oms`. A report the domain cannot apply (unknown order, illegal
    transition) raises ValidationFailed with the reason, so the bus dead-letters it."""

    def _route(events: Sequence[Event]) -> list[Output]:
        out: list[Output] = []
        for e in events:
            if isinstance(e, TradeClosed):
                out.append((trades_stream, e))
            elif isinstance(e, PositionUpdated):
                out.append((positions_stream, e))
        return out

    async def handle(stream: str, event: Event) -> Sequence[Output]:
        if isinstance(event, OrderIntentApproved):
            return _route(oms.on_intent(event))
        if isinstance(event, OrderSubmitted | OrderFilled | OrderClosed):
            result = oms.on_report(event)
            if result.error:
                raise ValidationFailed(result.error)  # dead-lettered with the reason
            return _route(result.events)
        if isinstance(event, BarClosed):
            return _route(oms.on_bar(event))
        return []

    return handle
