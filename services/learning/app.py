"""Composition root of the learning service."""
from __future__ import annotations

from typing import Any

from libs.common.events import PolicyUpdated, decode
from libs.common.service import Service
from libs.common.streams import LEARNING_POLICIES, SUBSCRIPTIONS
from services.learning.config import LearningSettings
from services.learning.domain.learner import Learner
from services.learning.handlers import make_handler

NAME = "learning"
PORT = 8106


def build(settings: LearningSettings | None = None) -> Service:
    settings = settings or LearningSettings()
    learner = Learner(settings.learner())
    handler = make_handler(learner)
    resumed = False

    async def handle(stream: str, event: Any) -> Any:
        nonlocal resumed
        if not resumed and service.redis is not None:
            # Versions keep rising across restarts: resume after the last one published.
            last = await service.redis.xrevrange(LEARNING_POLICIES, count=1)
            if last:
                prev = decode(last[0][1][b"data"])
                if isinstance(prev, PolicyUpdated):
                    learner.version = max(learner.version, prev.version)
            resumed = True
        return await handler(stream, event)

    def extra() -> dict[str, Any]:
        return {"policy_version": learner.version,
                "strategies": {f"{e.value}:{s}": {"trades": st.trades, "wins": st.wins,
                                                  "total_pnl": str(st.total_pnl),
                                                  "ewma_pnl": str(st.ewma_pnl)}
                               for (e, s), st in learner.stats.items()}}

    service = Service(NAME, settings, default_port=PORT, streams=SUBSCRIPTIONS[NAME],
                      handler=handle, extra_health=extra)
    return service
