from __future__ import annotations

from decimal import Decimal as D

import numpy as np
import pytest

from services.decision.domain.agents import ARMS, LinUCB, reward_of
from services.decision.domain.env import OpportunityEnv, Outcome, train


def dataset(n: int = 40, seed: int = 7) -> list[Outcome]:
    """Constructed recorded pairs: the realized PnL is 20 bps of the notional per unit of the
    edge feature (a positive edge profits, a negative one loses)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        edge = float(rng.uniform(-1, 1))
        pnl = (D(repr(edge)) * 2).quantize(D("0.0001"))
        out.append(Outcome(f"o{i}", np.array([1.0, edge]), D("1000"), pnl))
    return out


def test_reset_and_step_follow_the_gymnasium_shapes() -> None:
    env = OpportunityEnv(dataset(3), shuffle=False)
    obs, info = env.reset(seed=1)
    assert obs.shape == (2,) and info == {"opportunity_id": "o0"}
    steps = [env.step(len(ARMS) - 1) for _ in range(3)]
    assert [s[2] for s in steps] == [False, False, True]  # terminated on the last record
    assert all(s[3] is False for s in steps)
    assert [s[1] for s in steps] == [reward_of(r.realized_pnl, r.notional)
                                     for r in env.records]
    with pytest.raises(RuntimeError):
        env.step(0)  # the episode is over


def test_skip_earns_nothing_and_size_scales_the_realized_reward() -> None:
    rec = Outcome("o", np.array([1.0, 0.5]), D("1000"), D("2"))
    env = OpportunityEnv([rec])
    rewards = []
    for a in range(len(ARMS)):
        env.reset()
        rewards.append(env.step(a)[1])
    assert rewards == [0.0, 1.0, 2.0]  # 20 bps / 10, times 0, 0.5, 1


def test_truncated_at_max_steps_and_bad_input_rejected() -> None:
    env = OpportunityEnv(dataset(5), max_steps=2)
    env.reset(seed=0)
    assert env.step(0)[3] is False
    _, _, terminated, truncated, _ = env.step(0)
    assert (terminated, truncated) == (False, True)
    env.reset()
    with pytest.raises(ValueError):
        env.step(len(ARMS))
    with pytest.raises(ValueError):
        OpportunityEnv([])


def test_offline_training_on_recorded_outcomes_learns_take_and_skip() -> None:
    env = OpportunityEnv(dataset())
    agent = LinUCB(len(ARMS), 2, alpha=1.0, seed=3)
    rewards = train(agent, env, episodes=10, seed=0)
    assert len(rewards) == 400
    assert np.mean(rewards[-40:]) > np.mean(rewards[:40])
    agent.alpha = 0.0  # greedy
    assert agent.select(np.array([1.0, 0.8])) == len(ARMS) - 1
    assert agent.select(np.array([1.0, -0.8])) == 0
