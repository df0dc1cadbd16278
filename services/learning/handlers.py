"""Learning handler: every order-trail event goes into the outcome ledger; closed trades are
rewards, each one yields the next policy version."""
from __future__ import annotations

from collections.abc import Sequence

from libs.common.bus import Handler, Output
from libs.common.events import Event, OrderDenied, TradeClosed
from libs.common.streams import LEARNING_POLICIES
from services.learning.domain.learner import Learner
from services.learning.domain.ledger import Ledger


def apply(learner: Learner, ledger: Ledger, event: Event,
          policies_stream: str = LEARNING_POLICIES) -> list[Output]:
    """Feed one event to the ledger and the learner; return what to publish. Also used to
    replay the input streams at start, with the outputs dropped."""
    new = ledger.on_event(event)
    if isinstance(event, TradeClosed):
        policy = learner.on_trade(event)
        return [(policies_stream, policy)] if policy else []
    if isinstance(event, OrderDenied) and new:
        learner.on_denied(event)
    return []


def make_handler(learner: Learner, ledger: Ledger | None = None,
                 policies_stream: str = LEARNING_POLICIES) -> Handler:
    """The bus handler over `learner` and `ledger` (a private ledger if none is given)."""
    book = ledger if ledger is not None else Ledger()

    async def handle(stream: str, event: Event) -> Sequence[Output]:
        return apply(learner, book, event, policies_stream)

    return handle
