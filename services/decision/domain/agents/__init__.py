"""Contextual-bandit agents (numpy only) that decide take/skip and a size bucket per engine,
learn only from realized trade outcomes, and run in shadow beside the rule baseline."""
from __future__ import annotations

from services.decision.domain.agents.bandit import ARMS, LinUCB
from services.decision.domain.agents.features import DIM, features
from services.decision.domain.agents.shadow import AgentBook, Choice, reward_of

__all__ = ["ARMS", "DIM", "AgentBook", "Choice", "LinUCB", "features", "reward_of"]
