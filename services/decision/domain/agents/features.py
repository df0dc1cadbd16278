"""Opportunity -> the agent's context vector. Every feature is scaled to roughly [-1, 1] and
clipped; a feature an engine does not have is 0."""
from __future__ import annotations

import math

import numpy as np

from libs.common.events import (
    ArbitrageOpportunityDetected,
    BinarySignalDetected,
    ForexSignalDetected,
)

Opportunity = ArbitrageOpportunityDetected | ForexSignalDetected | BinarySignalDetected
NAMES = ("bias", "net_edge_bps/10", "log10_notional/5", "quote_age_s", "spread_bps/10",
         "volatility_bps/100", "open_positions/10")
DIM = len(NAMES)
CLIP = 10.0


def features(opp: Opportunity, open_positions: int = 0) -> np.ndarray:
    """Context of one opportunity: edge, size, quote age, spread, volatility, exposure."""
    spread = vol = 0.0
    if isinstance(opp, ArbitrageOpportunityDetected):
        edge, age_ns = float(opp.net_edge_bps), opp.oldest_quote_age_ns
    elif isinstance(opp, ForexSignalDetected):
        entry = float(opp.entry_price) or 1.0
        edge = abs(float(opp.take_profit) - entry) / entry * 1e4 - float(opp.spread_bps)
        age_ns, spread = opp.quote_age_ns, float(opp.spread_bps)
        vol = float(opp.atr) / entry * 1e4
    else:
        edge, age_ns = float(opp.expected_value) * 1e4, opp.quote_age_ns
        vol = float(opp.volatility) * 1e4
    x = np.array([1.0, edge / 10, math.log10(max(float(opp.notional), 1.0)) / 5, age_ns / 1e9,
                  spread / 10, vol / 100, open_positions / 10])
    return np.clip(x, -CLIP, CLIP)
