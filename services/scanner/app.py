"""Composition root of the scanner service."""
from __future__ import annotations

import dataclasses

from libs.common.clock import LiveClock
from libs.common.service import Service
from libs.common.streams import SUBSCRIPTIONS
from services.scanner.config import ScannerSettings
from services.scanner.domain.arbitrage import CrossVenueArbitrage
from services.scanner.domain.forex import ForexSignalScanner
from services.scanner.domain.multihop import MultiHopArbitrage
from services.scanner.handlers import make_handler

NAME = "scanner"
PORT = 8102


def build(settings: ScannerSettings | None = None) -> Service:
    settings = settings or ScannerSettings()
    clock = LiveClock()
    arb = CrossVenueArbitrage(clock, settings.fees(), settings.arbitrage())
    fx = ForexSignalScanner(clock, settings.forex())
    fees = settings.fees()
    cycles = MultiHopArbitrage(clock, fees, settings.multihop())

    def extra() -> dict[str, object]:
        return {"multi_hop": {"markets": len(cycles.graph.markets),
                              **dataclasses.asdict(cycles.stats)}}

    return Service(NAME, settings, default_port=PORT, streams=SUBSCRIPTIONS[NAME],
                   handler=make_handler(arb, fx, cycles), extra_health=extra)
