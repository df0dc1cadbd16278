"""Composition root of the execution service (paper venue; live adapters come with issue 4)."""
from __future__ import annotations

from typing import Any

from libs.common.clock import LiveClock
from libs.common.enums import Mode
from libs.common.errors import ConfigurationError
from libs.common.service import Service
from libs.common.streams import SUBSCRIPTIONS
from services.execution.config import ExecutionSettings
from services.execution.domain.paper import PaperVenue
from services.execution.handlers import make_handler

NAME = "execution"
PORT = 8104


def build(settings: ExecutionSettings | None = None) -> Service:
    settings = settings or ExecutionSettings()
    if settings.mode is Mode.LIVE:
        raise ConfigurationError("LIVE execution needs the venue adapters (issue 4); this "
                                 "build only fills paper orders")
    venue = PaperVenue(LiveClock(), settings.paper())

    def extra() -> dict[str, Any]:
        return {"kill_switch": venue.kill_switch_active, "pending_orders": venue.pending_orders,
                "resting_orders": venue.resting_orders, "open_brackets": venue.open_brackets,
                "late_fills": venue.late_fills, "unwinds": venue.unwinds,
                "unwind_cost": str(venue.unwind_cost), "unbalanced": venue.unbalanced}

    return Service(NAME, settings, default_port=PORT, streams=SUBSCRIPTIONS[NAME],
                   handler=make_handler(venue), extra_health=extra)
