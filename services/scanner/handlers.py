"""Scanner handler: books feed the arbitrage scanner, bars the forex scanner."""
from __future__ import annotations

from collections.abc import Sequence

from libs.common.bus import Handler, Output
from libs.common.events import BarClosed, BookGapDetected, Event, OrderBookUpdated
from libs.common.streams import OPPORTUNITIES
from services.scanner.domain.arbitrage import CrossVenueArbitrage
from services.scanner.domain.forex import ForexSignalScanner


def make_handler(arb: CrossVenueArbitrage, fx: ForexSignalScanner) -> Handler:
    async def handle(stream: str, event: Event) -> Sequence[Output]:
        if isinstance(event, OrderBookUpdated):
            return [(OPPORTUNITIES, o) for o in arb.on_book(event)]
        if isinstance(event, BarClosed):
            return [(OPPORTUNITIES, s) for s in fx.on_bar(event)]
        if isinstance(event, BookGapDetected):
            arb.on_gap(event)
        return []

    return handle
