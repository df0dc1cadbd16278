"""Policies published by learning (`learning.policies`)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from libs.common.enums import Engine
from libs.common.events.base import Event, Money


class PolicyUpdated(Event):
    """A versioned policy for one engine/strategy; decision applies the newest version."""

    kind: Literal["learning.policy"] = "learning.policy"
    version: int = Field(ge=1)
    engine: Engine
    strategy: str
    enabled: bool
    size_multiplier: Money
    trades: int = Field(ge=0)
    wins: int = Field(ge=0)
    mean_pnl: Money
    ewma_pnl: Money
    total_pnl: Money
    reason: str
