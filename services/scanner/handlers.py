"""Scanner handler: books feed the two-leg and multi-hop arbitrage scanners, DEX pools the
cross-chain scanner, bars the forex scanner and the Fibonacci features, quotes the binary
scanner, markets metadata the graph and the lot rules."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from libs.common.bus import Handler, Output
from libs.common.events import (
    BarClosed,
    BinaryAssetsUpdated,
    BookGapDetected,
    Event,
    InstrumentsUpdated,
    OrderBookUpdated,
    PoolStateUpdated,
    QuoteTick,
)
from libs.common.streams import MD_SIGNALS, OPPORTUNITIES
from services.scanner.domain.arbitrage import CrossVenueArbitrage
from services.scanner.domain.binary import BinarySignalScanner
from services.scanner.domain.crosschain import CrossChainArbitrage
from services.scanner.domain.fibonacci import FibonacciFeatures
from services.scanner.domain.forex import ForexSignalScanner
from services.scanner.domain.multihop import MultiHopArbitrage


@dataclass
class Scanners:
    arb: CrossVenueArbitrage
    cycles: MultiHopArbitrage
    cross_chain: CrossChainArbitrage
    fx: ForexSignalScanner
    binary: BinarySignalScanner
    fib: FibonacciFeatures | None


def make_handler(s: Scanners) -> Handler:
    # Fibonacci levels only move when a new swing is confirmed: publish then, not every bar
    # (30k feature events per demo replay otherwise, for a level set that rarely changes).
    last_pivot: dict[tuple[str, int], object] = {}

    async def handle(stream: str, event: Event) -> Sequence[Output]:
        out: list[Output] = []
        if isinstance(event, OrderBookUpdated):
            found = s.arb.on_book(event) + s.cycles.on_book(event)  # [] when not in a cycle
            out = [(OPPORTUNITIES, o) for o in found]
        elif isinstance(event, BarClosed):
            out = [(OPPORTUNITIES, o) for o in s.fx.on_bar(event)]
            features = s.fib.on_bar(event) if s.fib else None
            if features is not None and s.fib is not None:
                key = (event.instrument_id, event.timeframe_s)
                pivots = s.fib.pivots(*key)
                if pivots and pivots[-1] != last_pivot.get(key):
                    last_pivot[key] = pivots[-1]
                    out.append((MD_SIGNALS, features))
        elif isinstance(event, QuoteTick):
            out = [(OPPORTUNITIES, o) for o in s.binary.on_quote(event)]
        elif isinstance(event, PoolStateUpdated):
            out = [(OPPORTUNITIES, o) for o in s.cross_chain.on_pool(event)]
        elif isinstance(event, BookGapDetected):
            s.arb.on_gap(event)
            s.cycles.on_gap(event)
        elif isinstance(event, InstrumentsUpdated):
            s.arb.on_instruments(event)
            s.cycles.on_instruments(event)
        elif isinstance(event, BinaryAssetsUpdated):
            s.binary.on_assets(event)
        return out

    return handle
