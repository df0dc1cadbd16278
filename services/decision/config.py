from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from libs.common.enums import Engine
from libs.common.settings import ServiceSettings
from services.decision.domain.risk import RiskLimits


class DecisionSettings(ServiceSettings):
    max_notional_arbitrage: Decimal = Field(default=Decimal("5000"), gt=0)
    max_notional_forex: Decimal = Field(default=Decimal("50000"), gt=0)
    max_notional_binary: Decimal = Field(default=Decimal("100"), gt=0)
    max_open_positions: int = Field(default=5, ge=0)
    min_net_edge_bps: Decimal = Decimal("0")
    max_quote_age_ms: int = Field(default=500, ge=0)
    kill_switch: bool = False

    def limits(self) -> RiskLimits:
        return RiskLimits(
            max_notional={Engine.ARBITRAGE: self.max_notional_arbitrage,
                          Engine.FOREX: self.max_notional_forex,
                          Engine.BINARY: self.max_notional_binary},
            max_open_positions=self.max_open_positions,
            min_net_edge_bps=self.min_net_edge_bps,
            max_quote_age_ns=self.max_quote_age_ms * 1_000_000,
            kill_switch=self.kill_switch)
