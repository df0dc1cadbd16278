from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from libs.common.enums import Engine
from libs.common.settings import ServiceSettings


class OmsSettings(ServiceSettings):
    # A position smaller than this (base units) counts as flat: converting inverse contracts
    # to BTC at the fill price leaves ~1e-6 BTC between two otherwise equal legs.
    arbitrage_dust: Decimal = Field(default=Decimal("0.00001"), ge=0)

    # Write the domain state to `snapshot_key` every this many handled events (0: never);
    # a restart loads it and replays only the entries after it.
    snapshot_every: int = Field(default=500, ge=0)
    snapshot_key: str = "oms:snapshot"

    def dust(self) -> dict[Engine, Decimal]:
        return {Engine.ARBITRAGE: self.arbitrage_dust}
