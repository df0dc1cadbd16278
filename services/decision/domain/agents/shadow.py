"""One bandit agent per engine beside the rule baseline (the gates alone), in shadow.

For each opportunity the agent picks an arm (skip, or take at a size bucket) and the baseline
is whatever the gates decided. Rewards come ONLY from a realized `TradeClosed` matched to the
opportunity by id — never from the scanner's estimate; an opportunity that never traded
teaches nothing. Because a trade's PnL scales with its size, one realized outcome r of a trade
taken at the baseline size tells every arm its reward: multiplier x r (skip: 0). The book
counts what each would have done and the realized PnL of agent-taken vs baseline-taken."""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from libs.common.enums import Engine
from libs.common.events import TradeClosed
from services.decision.domain.agents.bandit import ARMS, LinUCB
from services.decision.domain.agents.features import DIM, Opportunity, features

ENGINES = (Engine.ARBITRAGE, Engine.FOREX, Engine.BINARY)


def reward_of(realized_pnl: Decimal, notional: Decimal, scale_bps: float = 10.0,
              clip: float = 5.0) -> float:
    """Realized PnL as bps of the notional over `scale_bps`, clipped: comparable across
    engines and sizes."""
    if notional <= 0:
        return 0.0
    r = float(realized_pnl / notional) * 1e4 / scale_bps
    return max(-clip, min(clip, r))


@dataclass(frozen=True)
class Choice:
    """What the agent chose for one opportunity, under which policy version."""

    opportunity_id: str
    engine: Engine
    arm: int
    multiplier: float
    policy_version: int

    @property
    def take(self) -> bool:
        return self.multiplier > 0


@dataclass
class _Pending:
    choice: Choice
    x: np.ndarray
    notional: Decimal
    baseline_take: bool | None = None


@dataclass
class _Tally:
    decided: int = 0
    agent_take: int = 0
    baseline_take: int = 0
    agree: int = 0
    outcomes: int = 0
    agent_pnl: Decimal = Decimal(0)
    baseline_pnl: Decimal = Decimal(0)


@dataclass
class AgentBook:
    """The per-engine agents, the pending choices awaiting outcomes, and the shadow tally."""

    enabled: bool = False  # False: shadow only, the gates alone decide
    alpha: float = 1.0
    seed: int = 0
    max_pending: int = 100_000
    agents: dict[Engine, LinUCB] = field(default_factory=dict)
    pending: OrderedDict[str, _Pending] = field(default_factory=OrderedDict)
    tally: dict[Engine, _Tally] = field(default_factory=dict)
    seen_trades: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        for i, e in enumerate(ENGINES):
            self.agents.setdefault(e, LinUCB(len(ARMS), DIM, self.alpha, seed=self.seed + i))
            self.tally.setdefault(e, _Tally())

    def choose(self, opp: Opportunity, open_positions: int = 0) -> Choice:
        """The agent's arm for `opp`; kept until the baseline and the outcome are known."""
        agent = self.agents[opp.engine]
        x = features(opp, open_positions)
        arm = agent.select(x)
        choice = Choice(opp.opportunity_id, opp.engine, arm, ARMS[arm], agent.version)
        self.pending[opp.opportunity_id] = _Pending(choice, x, opp.notional)
        while len(self.pending) > self.max_pending:
            self.pending.popitem(last=False)
        t = self.tally[opp.engine]
        t.decided += 1
        t.agent_take += choice.take
        return choice

    def record_baseline(self, opportunity_id: str, take: bool) -> None:
        """What the rule baseline (the gates) did with the opportunity."""
        p = self.pending.get(opportunity_id)
        if p is None:
            return
        p.baseline_take = take
        t = self.tally[p.choice.engine]
        t.baseline_take += take
        t.agree += take == p.choice.take

    def on_trade(self, trade: TradeClosed) -> int:
        """Reward the agents from a realized trade; returns how many choices it settled."""
        if trade.trade_id in self.seen_trades:
            return 0
        self.seen_trades.add(trade.trade_id)
        matched = [self.pending.pop(o) for o in trade.opportunity_ids if o in self.pending]
        if not matched:
            return 0
        share = trade.realized_pnl / len(matched)
        for p in matched:
            agent, t = self.agents[p.choice.engine], self.tally[p.choice.engine]
            t.outcomes += 1
            if p.baseline_take:
                t.baseline_pnl += share
            t.agent_pnl += share * Decimal(repr(p.choice.multiplier))
            r = reward_of(share, p.notional)
            agent.update_all(p.x, np.array(ARMS) * r)
        return len(matched)

    def health(self) -> dict[str, Any]:
        """Shadow comparison per engine, for /health."""
        return {"agent_enabled": self.enabled, "pending": len(self.pending), "engines": {
            e.value: {"policy_version": self.agents[e].version, "decided": t.decided,
                      "agent_take": t.agent_take, "baseline_take": t.baseline_take,
                      "agree": t.agree, "outcomes": t.outcomes,
                      "agent_realized_pnl": str(t.agent_pnl),
                      "baseline_realized_pnl": str(t.baseline_pnl)}
            for e, t in self.tally.items()}}
