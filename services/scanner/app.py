"""Composition root of the scanner service."""
from __future__ import annotations

from libs.common.clock import LiveClock
from libs.common.service import Service
from libs.common.streams import SUBSCRIPTIONS
from services.scanner.config import ScannerSettings
from services.scanner.domain.arbitrage import CrossVenueArbitrage
from services.scanner.domain.forex import ForexSignalScanner
from services.scanner.handlers import make_handler

NAME = "scanner"
PORT = 8102


def build(settings: ScannerSettings | None = None) -> Service:
    settings = settings or ScannerSettings()
    clock = LiveClock()
    arb = CrossVenueArbitrage(clock, settings.fees(), settings.arbitrage())
    fx = ForexSignalScanner(clock, settings.forex())
    return Service(NAME, settings, default_port=PORT, streams=SUBSCRIPTIONS[NAME],
                   handler=make_handler(arb, fx))
