"""The Master Governor's allocation of capital and risk budget across engines."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from libs.common.enums import Engine
from libs.common.events.base import Event, Money, Record


class EngineAllocation(Record):
    engine: Engine
    weight: Money  # share of capital, 0..1; weights sum to <= 1
    capital: Money  # quote units this engine may commit
    risk_budget: Money  # max loss this engine may take in the period, quote units
    reason: str = ""


class AllocationUpdated(Event):
    """Published by decision's governor whenever the allocation changes."""

    kind: Literal["decision.allocation"] = "decision.allocation"
    version: int = Field(ge=1)
    regime: str  # e.g. "calm", "volatile": the governor's reading of the market
    allocations: tuple[EngineAllocation, ...]
