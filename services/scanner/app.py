"""Composition root of the scanner service."""
from __future__ import annotations

import dataclasses
from typing import Any

from libs.common.clock import LiveClock
from libs.common.service import Service
from libs.common.streams import SUBSCRIPTIONS
from services.scanner.config import ScannerSettings
from services.scanner.domain.arbitrage import CrossVenueArbitrage
from services.scanner.domain.binary import BinarySignalScanner
from services.scanner.domain.crosschain import CrossChainArbitrage
from services.scanner.domain.fibonacci import FibonacciConfig, FibonacciFeatures
from services.scanner.domain.forex import ForexSignalScanner
from services.scanner.domain.multihop import MultiHopArbitrage
from services.scanner.domain.tokens import TokenRegistry
from services.scanner.handlers import Scanners, make_handler
from services.scanner.warmup import make_warm_up

NAME = "scanner"
PORT = 8102


def build(settings: ScannerSettings | None = None) -> Service:
    settings = settings or ScannerSettings()
    clock = LiveClock()
    fees = settings.fees()
    scanners = Scanners(
        arb=CrossVenueArbitrage(clock, fees, settings.arbitrage()),
        cycles=MultiHopArbitrage(clock, fees, settings.multihop()),
        cross_chain=CrossChainArbitrage(clock, TokenRegistry.default(), settings.cross_chain()),
        fx=ForexSignalScanner(clock, settings.forex()),
        binary=BinarySignalScanner(clock, settings.binary()),
        fib=FibonacciFeatures(FibonacciConfig()) if settings.fibonacci_enabled else None,
    )

    warmed: dict[str, Any] = {}

    def extra() -> dict[str, object]:
        return {"warm_start": warmed, "two_leg": dataclasses.asdict(scanners.arb.stats),
                "multi_hop": {"markets": len(scanners.cycles.graph.markets),
                              **dataclasses.asdict(scanners.cycles.stats)}}

    service = Service(NAME, settings, default_port=PORT, streams=SUBSCRIPTIONS[NAME],
                      handler=make_handler(scanners), extra_health=extra,
                      warm_up=make_warm_up(scanners, warmed))
    service.domain = scanners
    return service
