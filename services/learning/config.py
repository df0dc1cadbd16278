from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from libs.common.settings import ServiceSettings
from services.learning.domain.learner import LearnerConfig


class LearningSettings(ServiceSettings):
    min_trades: int = Field(default=20, ge=1)
    ewma_alpha: Decimal = Field(default=Decimal("0.1"), gt=0, le=1)

    def learner(self) -> LearnerConfig:
        return LearnerConfig(min_trades=self.min_trades, alpha=self.ewma_alpha)
