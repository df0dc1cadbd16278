from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from libs.common.settings import ServiceSettings
from services.scanner.domain.arbitrage import ArbitrageConfig
from services.scanner.domain.fees import FeeSchedule
from services.scanner.domain.forex import ForexSignalConfig
from services.scanner.domain.multihop import MultiHopConfig


class ScannerSettings(ServiceSettings):
    # TRIFECTA_FEES='{"BINANCE": {"taker": "0.00075"}}' overrides the default rates per venue
    # (libs/common/venues.py); execution reads the same variable, so estimate and fill agree.
    fees_override: dict[str, dict[str, Decimal]] = Field(default_factory=dict,
                                                         alias="TRIFECTA_FEES")
    arb_target_btc: Decimal = Field(default=Decimal("0.01"), gt=0)
    arb_min_interval_ms: int = Field(default=1000, ge=0)
    arb_min_change_bps: Decimal = Field(default=Decimal(1), ge=0)
    # multi-hop cycles start with this much of the first of these currencies they pass through
    cycle_start_amounts: dict[str, Decimal] = Field(
        default_factory=lambda: {"USDT": Decimal(500), "USD": Decimal(500)})
    cycle_lengths: tuple[int, ...] = (3, 4)
    fx_quantity: Decimal = Field(default=Decimal(10_000), gt=0)
    fx_tp_atr: Decimal = Field(default=Decimal("2.0"), gt=0)
    fx_sl_atr: Decimal = Field(default=Decimal("1.5"), gt=0)

    def fees(self) -> FeeSchedule:
        return FeeSchedule.from_settings(self.fees_override)

    def arbitrage(self) -> ArbitrageConfig:
        return ArbitrageConfig(target_quantity={"BTC": self.arb_target_btc},
                               min_interval_ns=self.arb_min_interval_ms * 1_000_000,
                               min_change_bps=self.arb_min_change_bps)

    def multihop(self) -> MultiHopConfig:
        return MultiHopConfig(start_amounts=self.cycle_start_amounts,
                              lengths=self.cycle_lengths,
                              min_interval_ns=self.arb_min_interval_ms * 1_000_000,
                              min_change_bps=self.arb_min_change_bps)

    def forex(self) -> ForexSignalConfig:
        return ForexSignalConfig(quantity=self.fx_quantity, tp_atr=self.fx_tp_atr,
                                 sl_atr=self.fx_sl_atr)
