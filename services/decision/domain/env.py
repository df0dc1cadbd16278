"""A gymnasium-style environment over recorded opportunity/outcome pairs, for offline training
and evaluation of the decision agents. Same method names and return shapes as gymnasium
(`reset` -> (obs, info); `step` -> (obs, reward, terminated, truncated, info)) without the
dependency. The reward of an action is its size multiplier times the REALIZED outcome of the
recorded trade (skip earns 0); an opportunity with no realized outcome cannot be recorded."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from services.decision.domain.agents import ARMS, LinUCB, reward_of


@dataclass(frozen=True)
class Outcome:
    """One recorded opportunity (its context vector) and the realized PnL of its trade."""

    opportunity_id: str
    features: np.ndarray
    notional: Decimal
    realized_pnl: Decimal


class OpportunityEnv:
    """Steps through `records` (shuffled per episode when `shuffle`), one opportunity a step."""

    def __init__(self, records: Sequence[Outcome], arms: Sequence[float] = ARMS,
                 max_steps: int | None = None, shuffle: bool = True) -> None:
        if not records:
            raise ValueError("OpportunityEnv needs at least one recorded outcome")
        dims = {r.features.shape for r in records}
        if len(dims) != 1:
            raise ValueError(f"records have mixed feature shapes: {sorted(dims)}")
        self.records = tuple(records)
        self.arms = tuple(arms)
        self.max_steps = max_steps
        self.shuffle = shuffle
        self.rng = np.random.default_rng(0)
        self.order = np.arange(len(self.records))
        self.t = 0
        self._started = False

    @property
    def n_actions(self) -> int:
        return len(self.arms)

    def _obs(self) -> np.ndarray:
        return self.records[int(self.order[self.t])].features

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.order = (self.rng.permutation(len(self.records)) if self.shuffle
                      else np.arange(len(self.records)))
        self.t = 0
        self._started = True
        return self._obs(), {"opportunity_id": self.records[int(self.order[0])].opportunity_id}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if not self._started:
            raise RuntimeError("call reset() before step()")
        if not 0 <= action < len(self.arms):
            raise ValueError(f"action {action} outside 0..{len(self.arms) - 1}")
        rec = self.records[int(self.order[self.t])]
        base = reward_of(rec.realized_pnl, rec.notional)
        reward = self.arms[action] * base
        info = {"opportunity_id": rec.opportunity_id, "outcome_reward": base,
                "realized_pnl": str(rec.realized_pnl)}
        self.t += 1
        terminated = self.t >= len(self.records)
        truncated = not terminated and self.max_steps is not None and self.t >= self.max_steps
        if terminated or truncated:
            self._started = False
            obs = np.zeros_like(rec.features)
        else:
            obs = self._obs()
        return obs, reward, terminated, truncated, info


def train(agent: LinUCB, env: OpportunityEnv, episodes: int = 1, seed: int = 0) -> list[float]:
    """Run `agent` on `env` with bandit feedback (only the chosen arm learns); the reward of
    every step, in order."""
    rewards: list[float] = []
    for ep in range(episodes):
        obs, _ = env.reset(seed=seed + ep)
        done = False
        while not done:
            action = agent.select(obs)
            nxt, reward, terminated, truncated, _ = env.step(action)
            agent.update(obs, action, reward)
            rewards.append(reward)
            obs, done = nxt, terminated or truncated
    return rewards
