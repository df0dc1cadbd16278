from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import Field

from libs.common.enums import ChainId
from libs.common.settings import ServiceSettings
from services.scanner.domain.arbitrage import ArbitrageConfig
from services.scanner.domain.binary import BinarySignalConfig
from services.scanner.domain.costs import DEFAULT_REBALANCE_EVERY_N_TRADES, TransferCosts
from services.scanner.domain.crosschain import BridgeRoute, ChainCosts, CrossChainConfig
from services.scanner.domain.fees import FeeSchedule
from services.scanner.domain.forex import ForexSignalConfig
from services.scanner.domain.freshness import (
    DEFAULT_LATENCY_NS,
    DEFAULT_OTHER_LATENCY_NS,
    DEFAULT_SAFETY_FACTOR,
    FreshnessBudget,
)
from services.scanner.domain.multihop import MultiHopConfig


class ScannerSettings(ServiceSettings):
    # TRIFECTA_FEES='{"BINANCE": {"taker": "0.00075"}}' overrides the default rates per venue
    # (libs/common/venues.py); execution reads the same variable, so estimate and fill agree.
    fees_override: dict[str, dict[str, Decimal]] = Field(default_factory=dict,
                                                         alias="TRIFECTA_FEES")
    arb_target_btc: Decimal = Field(default=Decimal("0.01"), gt=0)
    arb_min_interval_ms: int = Field(default=1000, ge=0)
    arb_min_change_bps: Decimal = Field(default=Decimal(1), ge=0)
    # withdrawal fees {venue: {asset: fee in asset units}} over the placeholder defaults of
    # services/scanner/domain/costs.py; a rebalancing is paid once every N trades
    arb_withdrawal_fees: dict[str, dict[str, Decimal]] = Field(default_factory=dict)
    arb_rebalance_every_n_trades: int = Field(default=DEFAULT_REBALANCE_EVERY_N_TRADES, ge=1)
    # freshness budget: expected order round trip per venue (ms) x safety factor
    # (assumed numbers, see services/scanner/domain/freshness.py); off = no stale filter
    arb_freshness_enabled: bool = True
    arb_latency_ms: dict[str, Decimal] = Field(default_factory=lambda: {
        v: Decimal(ns) / 1_000_000 for v, ns in DEFAULT_LATENCY_NS.items()})
    arb_default_latency_ms: Decimal = Field(
        default=Decimal(DEFAULT_OTHER_LATENCY_NS) / 1_000_000, gt=0)
    arb_latency_safety_factor: Decimal = Field(default=DEFAULT_SAFETY_FACTOR, gt=0)
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
        freshness = FreshnessBudget(
            latency_ns={v: int(ms * 1_000_000) for v, ms in self.arb_latency_ms.items()},
            default_latency_ns=int(self.arb_default_latency_ms * 1_000_000),
            safety_factor=self.arb_latency_safety_factor,
        ) if self.arb_freshness_enabled else None
        transfers = TransferCosts.from_settings(
            self.arb_withdrawal_fees, rebalance_every_n_trades=self.arb_rebalance_every_n_trades)
        return ArbitrageConfig(target_quantity={"BTC": self.arb_target_btc},
                               min_interval_ns=self.arb_min_interval_ms * 1_000_000,
                               min_change_bps=self.arb_min_change_bps,
                               transfers=transfers, freshness=freshness)

    def multihop(self) -> MultiHopConfig:
        return MultiHopConfig(start_amounts=self.cycle_start_amounts,
                              lengths=self.cycle_lengths,
                              min_interval_ns=self.arb_min_interval_ms * 1_000_000,
                              min_change_bps=self.arb_min_change_bps)

    # Cross-chain: nothing is traded until chains, bridges and volatilities are configured:
    # TRIFECTA_CROSSCHAIN='{"chains": {"42161": {"gas_units_per_swap": 150000,
    #   "gas_price_gwei": "0.01", "native_price": {"USDC": "3000"}, "block_time_ns": 250000000}},
    #   "bridges": {"ETH": {"fee_fixed": "0.001", "fee_rate": "0.0005", "time_s": "600"}},
    #   "sigma_annual": {"ETH": "0.6"}}'
    crosschain: dict[str, dict[str, Any]] = Field(default_factory=dict)
    binary_stake: Decimal = Field(default=Decimal(1), gt=0)
    fibonacci_enabled: bool = True

    def cross_chain(self) -> CrossChainConfig:
        c = self.crosschain
        chains = {ChainId(int(k)): ChainCosts(
            gas_units_per_swap=int(v["gas_units_per_swap"]),
            gas_price_gwei=Decimal(str(v["gas_price_gwei"])),
            native_price={q: Decimal(str(p)) for q, p in v["native_price"].items()},
            block_time_ns=int(v["block_time_ns"])) for k, v in c.get("chains", {}).items()}
        bridges = {a: BridgeRoute(fee_fixed=Decimal(str(v["fee_fixed"])),
                                  fee_rate=Decimal(str(v["fee_rate"])),
                                  time_s=Decimal(str(v["time_s"])),
                                  gas_units=int(v.get("gas_units", 0)))
                   for a, v in c.get("bridges", {}).items()}
        sigma = {a: Decimal(str(v)) for a, v in c.get("sigma_annual", {}).items()}
        return CrossChainConfig(chains=chains, bridges=bridges, sigma_annual=sigma)

    def binary(self) -> BinarySignalConfig:
        return BinarySignalConfig(stake=self.binary_stake)

    def forex(self) -> ForexSignalConfig:
        return ForexSignalConfig(quantity=self.fx_quantity, tp_atr=self.fx_tp_atr,
                                 sl_atr=self.fx_sl_atr)
