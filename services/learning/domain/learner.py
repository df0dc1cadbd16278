"""Learning, honest and simple: per engine/strategy statistics of realized PnL, turned into
a versioned policy. A strategy whose exponentially weighted per-trade PnL is negative after
`min_trades` closed trades is disabled; the real agents replace this rule later. Pure."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from libs.common.enums import DenialReason, Engine
from libs.common.events import OrderDenied, PolicyUpdated, TradeClosed

PNL_STEP = Decimal("0.00000001")


@dataclass
class StrategyStats:
    trades: int = 0
    wins: int = 0
    total_pnl: Decimal = Decimal(0)
    ewma_pnl: Decimal = Decimal(0)
    denials: dict[DenialReason, int] = field(default_factory=dict)

    @property
    def mean_pnl(self) -> Decimal:
        return self.total_pnl / self.trades if self.trades else Decimal(0)


@dataclass(frozen=True)
class LearnerConfig:
    min_trades: int = 20
    alpha: Decimal = Decimal("0.1")


class Learner:
    def __init__(self, config: LearnerConfig, start_version: int = 0) -> None:
        self.config = config
        self.version = start_version
        self.stats: dict[tuple[Engine, str], StrategyStats] = {}
        self.seen_trades: set[str] = set()

    def on_denied(self, d: OrderDenied) -> None:
        s = self.stats.setdefault((d.engine, d.strategy), StrategyStats())
        s.denials[d.reason] = s.denials.get(d.reason, 0) + 1

    def on_trade(self, t: TradeClosed) -> PolicyUpdated | None:
        """The reward: update the strategy's estimate, publish the next policy version."""
        if t.trade_id in self.seen_trades:
            return None
        self.seen_trades.add(t.trade_id)
        s = self.stats.setdefault((t.engine, t.strategy), StrategyStats())
        pnl = t.realized_pnl
        s.ewma_pnl = pnl if s.trades == 0 else \
            (self.config.alpha * pnl + (1 - self.config.alpha) * s.ewma_pnl)
        s.trades += 1
        s.wins += pnl > 0
        s.total_pnl += pnl
        warm = s.trades >= self.config.min_trades
        enabled = not (warm and s.ewma_pnl < 0)
        if not warm:
            reason = f"warming up: {s.trades}/{self.config.min_trades} trades"
        elif enabled:
            reason = f"ewma pnl/trade {s.ewma_pnl:.4f} >= 0"
        else:
            reason = f"ewma pnl/trade {s.ewma_pnl:.4f} < 0 after {s.trades} trades"
        self.version += 1
        return PolicyUpdated(
            ts_event=t.ts_event, version=self.version, engine=t.engine, strategy=t.strategy,
            enabled=enabled, size_multiplier=Decimal(1) if enabled else Decimal(0),
            trades=s.trades, wins=s.wins, mean_pnl=s.mean_pnl.quantize(PNL_STEP),
            ewma_pnl=s.ewma_pnl.quantize(PNL_STEP), total_pnl=s.total_pnl.quantize(PNL_STEP),
            reason=reason, **t.caused())
