"""Composition root of the intake service."""
from __future__ import annotations

from libs.common.service import Service
from services.intake.config import IntakeSettings
from services.intake.replayer import Replayer

NAME = "intake"
PORT = 8101


def build(settings: IntakeSettings | None = None) -> Service:
    settings = settings or IntakeSettings()
    replayer = Replayer(settings)
    return Service(NAME, settings, default_port=PORT, producer=replayer.run,
                   extra_health=replayer.health)
