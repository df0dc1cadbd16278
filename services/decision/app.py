"""Composition root of the decision service."""
from __future__ import annotations

from typing import Any

from libs.common.service import Service
from libs.common.streams import SUBSCRIPTIONS
from services.decision.config import DecisionSettings
from services.decision.domain.risk import RiskGate
from services.decision.handlers import make_handler

NAME = "decision"
PORT = 8103


def build(settings: DecisionSettings | None = None) -> Service:
    settings = settings or DecisionSettings()
    gate = RiskGate(settings.limits())

    def extra() -> dict[str, Any]:
        return {"kill_switch": gate.kill_switch, "open_positions": len(gate.open_positions),
                "policy_version": gate.policy_version}

    return Service(NAME, settings, default_port=PORT, streams=SUBSCRIPTIONS[NAME],
                   handler=make_handler(gate), extra_health=extra)
