"""Composition root of the intake service."""
from __future__ import annotations

from libs.common.errors import ConfigurationError
from libs.common.service import Service
from services.intake.config import IntakeSettings
from services.intake.live import LiveFeed
from services.intake.replayer import Replayer
from services.intake.sources import live_adapters

NAME = "intake"
PORT = 8101


def build(settings: IntakeSettings | None = None) -> Service:
    settings = settings or IntakeSettings()
    if settings.source == "replay":
        replayer = Replayer(settings)
        return Service(NAME, settings, default_port=PORT, producer=replayer.run,
                       extra_health=replayer.health)
    adapters = live_adapters(settings)
    if not adapters:
        raise ConfigurationError(
            "intake in live mode has no venue configured: set TRIFECTA_INTAKE_EXCHANGES, "
            "TRIFECTA_MT5_ENABLED, TRIFECTA_DEX_RPC_URLS or TRIFECTA_INTAKE_BINARY_PAPER, or "
            "TRIFECTA_INTAKE_SOURCE=replay")
    feed = LiveFeed(adapters, metadata_interval_s=settings.intake_metadata_interval_s)
    return Service(NAME, settings, default_port=PORT, producer=feed.run,
                   extra_health=feed.health)
