from __future__ import annotations

from decimal import Decimal as D

import numpy as np

from libs.common.enums import DenialReason, Engine
from libs.common.events import OrderDenied, OrderIntentApproved
from libs.common.testing.factories import arbitrage, forex_signal, trade
from services.decision.adapters.risk_state import InMemoryRiskState
from services.decision.domain.agents import ARMS, DIM, AgentBook, LinUCB, features, reward_of
from services.decision.domain.risk import RiskGate, RiskLimits
from services.decision.handlers import make_handler

SEEDS = range(5)
STEPS = 600


def synthetic_run(seed: int, policy: str) -> float:
    """Contextual problem: taking earns size x 2 x edge plus noise; skip earns 0. Mean reward
    over the second half of the run."""
    rng = np.random.default_rng(1000 + seed)
    agent = LinUCB(len(ARMS), 2, alpha=1.0, seed=seed)
    rewards = []
    for _ in range(STEPS):
        edge = rng.uniform(-1, 1)
        x = np.array([1.0, edge])
        arm = agent.select(x) if policy == "linucb" else int(rng.integers(len(ARMS)))
        reward = ARMS[arm] * 2 * edge + rng.normal(0, 0.1)
        agent.update(x, arm, reward)
        rewards.append(reward)
    return float(np.mean(rewards[STEPS // 2:]))


def test_linucb_beats_uniform_on_a_seeded_contextual_problem() -> None:
    bandit = [synthetic_run(s, "linucb") for s in SEEDS]
    uniform = [synthetic_run(s, "uniform") for s in SEEDS]
    # the best policy earns ~0.5 a step (take full size on a positive edge, skip otherwise);
    # uniform earns ~0
    assert min(bandit) > 0.4
    assert np.mean(bandit) - np.mean(uniform) > 0.3
    assert synthetic_run(0, "linucb") == bandit[0]  # seeded: deterministic


def test_features_are_finite_and_carry_the_edge() -> None:
    x = features(arbitrage(net_edge_bps=D("12.5"), oldest_quote_age_ns=250_000_000), 3)
    assert x.shape == (DIM,)
    assert x[1] == 1.25 and x[3] == 0.25 and x[6] == 0.3
    assert np.isfinite(features(forex_signal())).all()


def test_agents_learn_nothing_without_a_realized_outcome() -> None:
    book = AgentBook()
    opp = arbitrage(net_edge_bps=D("5"))
    book.choose(opp)
    book.record_baseline(opp.opportunity_id, True)
    assert book.agents[Engine.ARBITRAGE].version == 0
    # a trade for an opportunity the agent never saw teaches nothing
    assert book.on_trade(trade(opportunity_ids=("opp-unknown",), engine=Engine.ARBITRAGE)) == 0
    assert book.agents[Engine.ARBITRAGE].version == 0
    assert float(book.agents[Engine.ARBITRAGE].b.sum()) == 0.0


def test_realized_trade_rewards_every_arm_by_its_size_and_tallies_shadow_pnl() -> None:
    book = AgentBook()
    opp = arbitrage(net_edge_bps=D("5"), notional=D("600"))
    choice = book.choose(opp)
    book.record_baseline(opp.opportunity_id, True)
    t = trade(trade_id="trd-a", engine=Engine.ARBITRAGE, opportunity_ids=(opp.opportunity_id,),
              realized_pnl=D("-1.2"))
    assert book.on_trade(t) == 1
    assert book.on_trade(t) == 0  # a redelivered trade is not counted twice
    agent = book.agents[Engine.ARBITRAGE]
    assert agent.version == 1
    x = features(opp)
    r = reward_of(D("-1.2"), D("600"))
    assert r == -2.0  # -20 bps of the notional over 10
    for arm, m in enumerate(ARMS):
        np.testing.assert_allclose(agent.b[arm], m * r * x)
    h = book.health()["engines"]["ARBITRAGE"]
    assert h["outcomes"] == 1 and h["baseline_take"] == 1
    assert D(h["baseline_realized_pnl"]) == D("-1.2")
    assert D(h["agent_realized_pnl"]) == D("-1.2") * D(repr(choice.multiplier))


async def test_shadow_agents_do_not_change_the_gate_decisions() -> None:
    limits = RiskLimits()
    alone = make_handler(RiskGate(limits, InMemoryRiskState()))
    book = AgentBook(enabled=False)
    shadow = make_handler(RiskGate(limits, InMemoryRiskState()), agents=book)
    opps = [arbitrage(opportunity_id=f"o{i}", net_edge_bps=D(e))
            for i, e in enumerate(["5", "-3", "2"])]
    for o in opps:
        [(s1, e1)] = await alone("opportunities", o)
        [(s2, e2)] = await shadow("opportunities", o)
        assert (s1, type(e1)) == (s2, type(e2))
    assert await shadow("opportunities", opps[0]) == []  # redelivery: decided once
    h = book.health()["engines"]["ARBITRAGE"]
    assert h["decided"] == 3 and h["baseline_take"] == 2


async def test_enabled_agent_skip_becomes_a_denial() -> None:
    book = AgentBook(enabled=True, alpha=0.0)
    book.agents[Engine.ARBITRAGE].b[0, 0] = 100.0  # skip predicted far best at bias 1
    handle = make_handler(RiskGate(RiskLimits(), InMemoryRiskState()), agents=book)
    [(_, out)] = await handle("opportunities", arbitrage(net_edge_bps=D("5")))
    assert isinstance(out, OrderDenied)
    assert out.reason is DenialReason.POLICY_DISABLED and out.detail == "agent v0 skip"
    book.agents[Engine.ARBITRAGE].b[0, 0] = -100.0
    book.agents[Engine.ARBITRAGE].b[2, 0] = 100.0
    [(_, ok)] = await handle("opportunities", arbitrage(opportunity_id="o2",
                                                        net_edge_bps=D("5")))
    assert isinstance(ok, OrderIntentApproved)
