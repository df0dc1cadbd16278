"""Composition root of the OMS service."""
from __future__ import annotations

from typing import Any

from libs.common.clock import LiveClock
from libs.common.service import Service
from libs.common.streams import SUBSCRIPTIONS
from services.oms.config import OmsSettings
from services.oms.domain.oms import Oms
from services.oms.handlers import make_handler

NAME = "oms"
PORT = 8105


def build(settings: OmsSettings | None = None) -> Service:
    settings = settings or OmsSettings()
    oms = Oms(LiveClock(), dust=settings.dust())

    def extra() -> dict[str, Any]:
        return {
            "open_positions": len(oms.open_positions()),
            "orders": {s.value: n for s, n in oms.orders_by_status().items()},
            "held_trades": oms.held_trades,
            "totals": {e.value: {k: str(v) for k, v in vars(t).items()}
                       for e, t in oms.totals().items()},
        }

    return Service(NAME, settings, default_port=PORT, streams=SUBSCRIPTIONS[NAME],
                   handler=make_handler(oms), extra_health=extra)
