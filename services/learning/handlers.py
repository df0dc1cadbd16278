"""Learning handler: closed trades are rewards; each one yields the next policy version."""
from __future__ import annotations

from collections.abc import Sequence

from libs.common.bus import Handler, Output
from libs.common.events import Event, OrderDenied, TradeClosed
from libs.common.streams import LEARNING_POLICIES
from services.learning.domain.learner import Learner


def make_handler(learner: Learner) -> Handler:
    async def handle(stream: str, event: Event) -> Sequence[Output]:
        if isinstance(event, TradeClosed):
            policy = learner.on_trade(event)
            return [(LEARNING_POLICIES, policy)] if policy else []
        if isinstance(event, OrderDenied):
            learner.on_denied(event)
        return []

    return handle
