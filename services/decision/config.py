"""Decision settings (`TRIFECTA_*`). Limits set to 0 are off, as noted per field."""
from __future__ import annotations

from decimal import Decimal

from pydantic import Field, model_validator

from libs.common.enums import Engine
from libs.common.errors import ConfigurationError
from libs.common.settings import ServiceSettings
from services.decision.domain.gates.base import NS_PER_S
from services.decision.domain.governor import ENGINES, GovernorConfig
from services.decision.domain.risk import RiskLimits
from services.decision.domain.sizing import SizingConfig, SizingMode


class DecisionSettings(ServiceSettings):
    max_notional_arbitrage: Decimal = Field(default=Decimal("5000"), gt=0)
    max_notional_forex: Decimal = Field(default=Decimal("50000"), gt=0)
    max_notional_binary: Decimal = Field(default=Decimal("100"), gt=0)
    max_open_positions: int = Field(default=5, ge=0)
    min_net_edge_bps: Decimal = Decimal("0")
    max_quote_age_ms: int = Field(default=500, ge=0)
    kill_switch: bool = False
    # account and loss limits
    equity: Decimal = Field(default=Decimal("100000"), gt=0)  # starting equity, quote units
    max_daily_loss: Decimal = Field(default=Decimal("0"), ge=0)  # 0: off
    max_drawdown_pct: Decimal = Field(default=Decimal("0"), ge=0, le=100)  # 0: off
    max_loss_streak: int = Field(default=0, ge=0)  # 0: off
    loss_streak_pause_s: int = Field(default=3600, ge=0)
    cooldown_after_loss_s: int = Field(default=0, ge=0)  # 0: off
    # exposure, rate, balance
    max_asset_exposure: Decimal = Field(default=Decimal("0"), ge=0)  # 0: off
    max_total_exposure: Decimal = Field(default=Decimal("0"), ge=0)  # 0: off
    max_intents_per_window: int = Field(default=0, ge=0)  # 0: off
    rate_window_s: int = Field(default=60, gt=0)
    reservation_ttl_s: int = Field(default=60, gt=0)  # unfilled intents free their slot
    balances: dict[str, Decimal] = Field(default_factory=dict)  # {"FOREX:USD": "100000"}
    # shared state: "redis" (every replica shares it) or "memory" (one process)
    risk_state: str = Field(default="redis", pattern="^(redis|memory)$")
    risk_state_prefix: str = "trifecta:risk"
    # sizing per engine: none | fixed_fraction | kelly | atr (forex) | binary_stake (binary)
    sizing_arbitrage: SizingMode = SizingMode.NONE
    sizing_forex: SizingMode = SizingMode.NONE
    sizing_binary: SizingMode = SizingMode.NONE
    sizing_fraction: Decimal = Field(default=Decimal("0.01"), gt=0, le=1)
    kelly_max_fraction: Decimal = Field(default=Decimal("0.05"), gt=0, le=1)
    kelly_min_trades: int = Field(default=20, ge=1)
    kelly_win_loss_ratio: Decimal = Field(default=Decimal("1"), gt=0)
    risk_per_trade: Decimal = Field(default=Decimal("100"), gt=0)
    binary_fraction: Decimal = Field(default=Decimal("0.01"), gt=0, le=1)
    binary_min_stake: Decimal = Field(default=Decimal("1"), gt=0)
    binary_max_stake: Decimal = Field(default=Decimal("25"), gt=0)
    binary_martingale: bool = False  # off by default; capped by binary_max_stake and steps
    binary_martingale_factor: Decimal = Field(default=Decimal("2"), ge=1, le=3)
    binary_martingale_max_steps: int = Field(default=3, ge=0, le=5)
    # Master Governor: capital and risk budget per engine from realized PnL; when enabled it
    # publishes AllocationUpdated and caps each engine's notional at its allocated capital
    governor_enabled: bool = True
    governor_enforce: bool = True  # False: publish allocations, leave the notional caps alone
    governor_min_weight: float = Field(default=0.1, ge=0, le=1)
    governor_max_weight: float = Field(default=0.6, ge=0, le=1)
    governor_alpha: float = Field(default=0.1, gt=0, le=1)  # EWMA weight of a new trade
    governor_min_trades: int = Field(default=5, ge=1)  # before that an engine scores neutral
    governor_regime_min_trades: int = Field(default=20, ge=1)  # before that: "calm"
    governor_change_threshold: float = Field(default=0.02, ge=0, le=1)
    governor_volatile_ratio: float = Field(default=2.0, gt=1)  # short/long PnL std
    governor_volatile_scale: float = Field(default=0.5, gt=0, le=1)
    governor_risk_budget_pct: float = Field(default=0.02, gt=0, le=1)
    # contextual-bandit agents: always run in shadow beside the gates; they only change
    # decisions (skip what the agent skips) when agent_enabled
    agent_enabled: bool = False
    agent_alpha: float = Field(default=1.0, ge=0)  # LinUCB exploration width
    agent_seed: int = 0

    @model_validator(mode="after")
    def _governor_bounds(self) -> DecisionSettings:
        if self.governor_min_weight > self.governor_max_weight:
            raise ConfigurationError(
                f"TRIFECTA_GOVERNOR_MIN_WEIGHT {self.governor_min_weight} > "
                f"TRIFECTA_GOVERNOR_MAX_WEIGHT {self.governor_max_weight}")
        if self.governor_min_weight * len(ENGINES) > 1:
            raise ConfigurationError(
                f"TRIFECTA_GOVERNOR_MIN_WEIGHT {self.governor_min_weight} x {len(ENGINES)} "
                "engines > 1")
        return self

    def governor(self) -> GovernorConfig:
        return GovernorConfig(
            enabled=self.governor_enabled, equity=self.equity,
            min_weight=self.governor_min_weight, max_weight=self.governor_max_weight,
            alpha=self.governor_alpha, min_trades=self.governor_min_trades,
            regime_min_trades=self.governor_regime_min_trades,
            change_threshold=self.governor_change_threshold,
            volatile_ratio=self.governor_volatile_ratio,
            volatile_scale=self.governor_volatile_scale,
            risk_budget_pct=self.governor_risk_budget_pct)

    def limits(self) -> RiskLimits:
        return RiskLimits(
            max_notional={Engine.ARBITRAGE: self.max_notional_arbitrage,
                          Engine.FOREX: self.max_notional_forex,
                          Engine.BINARY: self.max_notional_binary},
            max_open_positions=self.max_open_positions,
            min_net_edge_bps=self.min_net_edge_bps,
            max_quote_age_ns=self.max_quote_age_ms * 1_000_000,
            kill_switch=self.kill_switch, equity=self.equity,
            max_daily_loss=self.max_daily_loss, max_drawdown_pct=self.max_drawdown_pct,
            max_loss_streak=self.max_loss_streak,
            loss_streak_pause_ns=self.loss_streak_pause_s * NS_PER_S,
            cooldown_after_loss_ns=self.cooldown_after_loss_s * NS_PER_S,
            max_asset_exposure=self.max_asset_exposure,
            max_total_exposure=self.max_total_exposure,
            max_intents_per_window=self.max_intents_per_window,
            rate_window_ns=self.rate_window_s * NS_PER_S,
            reservation_ttl_ns=self.reservation_ttl_s * NS_PER_S, balances=dict(self.balances))

    def sizing(self) -> dict[Engine, SizingMode]:
        return {Engine.ARBITRAGE: self.sizing_arbitrage, Engine.FOREX: self.sizing_forex,
                Engine.BINARY: self.sizing_binary}

    def sizing_config(self) -> SizingConfig:
        return SizingConfig(
            fraction=self.sizing_fraction, kelly_max_fraction=self.kelly_max_fraction,
            kelly_min_trades=self.kelly_min_trades,
            kelly_win_loss_ratio=self.kelly_win_loss_ratio, risk_per_trade=self.risk_per_trade,
            binary_fraction=self.binary_fraction, binary_min_stake=self.binary_min_stake,
            binary_max_stake=self.binary_max_stake, martingale=self.binary_martingale,
            martingale_factor=self.binary_martingale_factor,
            martingale_max_steps=self.binary_martingale_max_steps)
