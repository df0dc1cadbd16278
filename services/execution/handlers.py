"""Execution handler: intents become paper orders filled against books, bars and the trade tape
in event time."""
from __future__ import annotations

from collections.abc import Sequence

from libs.common.bus import Handler, Output
from libs.common.events import (
    BarClosed,
    Event,
    KillSwitchSet,
    OrderBookUpdated,
    OrderIntentApproved,
    ReplayFinished,
    TradeTick,
)
from libs.common.streams import MD_BARS, MD_BOOKS, MD_TRADES, ORDERS_REPORTS
from services.execution.domain.paper import PaperVenue


def make_handler(venue: PaperVenue) -> Handler:
    async def handle(stream: str, event: Event) -> Sequence[Output]:
        if isinstance(event, OrderIntentApproved):
            out = venue.on_intent(event)
        elif isinstance(event, OrderBookUpdated):
            out = venue.on_book(event)
        elif isinstance(event, TradeTick):
            out = venue.on_trade(event)
        elif isinstance(event, BarClosed):
            out = venue.on_bar(event)
        elif isinstance(event, ReplayFinished):
            out = venue.on_replay_finished(event, books=stream == MD_BOOKS,
                                           bars=stream == MD_BARS, trades=stream == MD_TRADES)
        elif isinstance(event, KillSwitchSet):
            venue.on_kill_switch(event.active)
            out = []
        else:
            out = []
        return [(ORDERS_REPORTS, e) for e in out]

    return handle
