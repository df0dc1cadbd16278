"""Composition root of the decision service."""
from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from libs.common.clock import Clock, LiveClock
from libs.common.enums import Mode
from libs.common.service import Service
from libs.common.streams import SUBSCRIPTIONS
from services.decision.adapters.control_watch import ControlWatcher
from services.decision.adapters.risk_state import InMemoryRiskState, RedisRiskState
from services.decision.config import DecisionSettings
from services.decision.domain.agents import AgentBook
from services.decision.domain.governor import Governor
from services.decision.domain.risk import EventClock, RiskGate, RiskState
from services.decision.handlers import make_handler

NAME = "decision"
PORT = 8103


def build_gate(settings: DecisionSettings, redis: Redis | None = None) -> RiskGate:
    """The risk gate with its shared state (Redis unless TRIFECTA_RISK_STATE=memory) and its
    clock (event time in DEMO, where data is replayed; the wall clock otherwise)."""
    state: RiskState
    if settings.risk_state == "redis":
        state = RedisRiskState(redis or Redis.from_url(settings.redis_url),
                               settings.risk_state_prefix)
    else:
        state = InMemoryRiskState()
    clock: Clock = EventClock() if settings.mode is Mode.DEMO else LiveClock()
    return RiskGate(settings.limits(), state, clock=clock, sizing=settings.sizing(),
                    sizing_config=settings.sizing_config())


def build(settings: DecisionSettings | None = None) -> Service:
    settings = settings or DecisionSettings()
    redis = Redis.from_url(settings.redis_url)
    gate = build_gate(settings, redis)
    governor = Governor(settings.governor())
    agents = AgentBook(enabled=settings.agent_enabled, alpha=settings.agent_alpha,
                       seed=settings.agent_seed)

    def extra() -> dict[str, Any]:
        latest = governor.latest
        return {"kill_switch": gate.kill_switch, "open_positions": gate.open_positions,
                "policy_version": gate.policy_version,
                "governor": {"enabled": settings.governor_enabled,
                             "enforce": settings.governor_enforce,
                             "version": latest.version if latest else 0,
                             "regime": latest.regime if latest else governor.regime(),
                             "allocations": {a.engine.value: {
                                 "weight": str(a.weight), "capital": str(a.capital),
                                 "risk_budget": str(a.risk_budget)}
                                 for a in (latest.allocations if latest else ())}},
                "agents": agents.health()}

    return Service(NAME, settings, default_port=PORT, streams=SUBSCRIPTIONS[NAME],
                   handler=make_handler(gate, governor, agents, settings.governor_enforce),
                   producer=ControlWatcher(redis, gate),
                   extra_health=extra)
