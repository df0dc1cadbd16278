"""Scanner handler: books feed the two-leg and multi-hop arbitrage scanners, bars the forex
scanner, markets metadata the multi-hop graph."""
from __future__ import annotations

from collections.abc import Sequence

from libs.common.bus import Handler, Output
from libs.common.events import (
    BarClosed,
    BookGapDetected,
    Event,
    InstrumentsUpdated,
    OrderBookUpdated,
)
from libs.common.streams import OPPORTUNITIES
from services.scanner.domain.arbitrage import CrossVenueArbitrage
from services.scanner.domain.forex import ForexSignalScanner
from services.scanner.domain.multihop import MultiHopArbitrage


def make_handler(arb: CrossVenueArbitrage, fx: ForexSignalScanner,
                 cycles: MultiHopArbitrage) -> Handler:
    async def handle(stream: str, event: Event) -> Sequence[Output]:
        if isinstance(event, OrderBookUpdated):
            found = arb.on_book(event) + cycles.on_book(event)  # [] for markets not in a cycle
            return [(OPPORTUNITIES, o) for o in found]
        if isinstance(event, BarClosed):
            return [(OPPORTUNITIES, s) for s in fx.on_bar(event)]
        if isinstance(event, BookGapDetected):
            arb.on_gap(event)
            cycles.on_gap(event)
        elif isinstance(event, InstrumentsUpdated):
            cycles.on_instruments(event)
        return []

    return handle
