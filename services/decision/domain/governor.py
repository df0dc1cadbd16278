"""The Master Governor: splits capital and a risk budget across the engines.

Pure: closed trades in, an `AllocationUpdated` out when the split moved. Per engine it keeps an
EWMA of realized trade PnL and of its variance; the score is the EWMA Sharpe-like ratio
mean / std, clipped, and the weights are a softmax of the scores projected onto
[min_weight, max_weight] (sum <= 1). The regime is read from the same PnL: when the short-run
variance of any engine's PnL exceeds `volatile_ratio`² times its long-run variance the market
is "volatile" and every weight (so capital and risk budget) shrinks by `volatile_scale`.
The gates respect the allocation through `apply_allocation` (notional cap per engine =
min(configured cap, allocated capital))."""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from decimal import ROUND_DOWN, Decimal

from libs.common.enums import Engine
from libs.common.errors import ConfigurationError
from libs.common.events import AllocationUpdated, EngineAllocation, TradeClosed
from services.decision.domain.gates import RiskLimits

ENGINES: tuple[Engine, ...] = (Engine.ARBITRAGE, Engine.FOREX, Engine.BINARY)
CALM, VOLATILE = "calm", "volatile"
W_STEP, CENT = Decimal("0.0001"), Decimal("0.01")


@dataclass(frozen=True)
class GovernorConfig:
    """Bounds and rates of the governor; checked at construction."""

    enabled: bool = True
    equity: Decimal = Decimal("100000")
    min_weight: float = 0.1
    max_weight: float = 0.6
    alpha: float = 0.1  # EWMA weight of each new trade in the score
    alpha_short: float = 0.3  # regime: short-run variance
    alpha_long: float = 0.03  # regime: long-run variance
    min_trades: int = 5  # below this an engine scores 0
    regime_min_trades: int = 20  # the regime reads an engine only after this many trades
    score_clip: float = 3.0
    temperature: float = 1.0
    change_threshold: float = 0.02  # publish when any weight moves by more than this
    volatile_ratio: float = 2.0  # short std / long std above which the regime is volatile
    volatile_scale: float = 0.5  # weights (and so capital and risk) shrink by this
    risk_budget_pct: float = 0.02  # loss budget per engine, share of its capital

    def __post_init__(self) -> None:
        n = len(ENGINES)
        if not 0 <= self.min_weight <= self.max_weight <= 1:
            raise ConfigurationError(
                f"governor weights need 0 <= min ({self.min_weight}) <= max "
                f"({self.max_weight}) <= 1")
        if self.min_weight * n > 1:
            raise ConfigurationError(
                f"governor min_weight {self.min_weight} x {n} engines > 1")
        for name in ("alpha", "alpha_short", "alpha_long"):
            if not 0 < getattr(self, name) <= 1:
                raise ConfigurationError(f"governor {name} must be in (0, 1]")
        if not 0 < self.volatile_scale <= 1 or self.temperature <= 0:
            raise ConfigurationError("governor volatile_scale in (0, 1] and temperature > 0")


@dataclass
class EngineStats:
    """EWMA statistics of one engine's realized trade PnL."""

    trades: int = 0
    mean: float = 0.0
    var: float = 0.0
    short_var: float = 0.0
    long_var: float = 0.0

    def add(self, pnl: float, cfg: GovernorConfig) -> None:
        if self.trades == 0:
            self.mean = pnl
        else:
            d = pnl - self.mean
            self.mean += cfg.alpha * d
            self.var = (1 - cfg.alpha) * (self.var + cfg.alpha * d * d)
        sq = pnl * pnl
        self.short_var = sq if self.trades == 0 else \
            (1 - cfg.alpha_short) * self.short_var + cfg.alpha_short * sq
        self.long_var = sq if self.trades == 0 else \
            (1 - cfg.alpha_long) * self.long_var + cfg.alpha_long * sq
        self.trades += 1

    def score(self, cfg: GovernorConfig) -> float:
        if self.trades < cfg.min_trades:
            return 0.0
        s = self.mean / math.sqrt(self.var + 1e-12)
        return max(-cfg.score_clip, min(cfg.score_clip, s))


def bounded_weights(raw: dict[Engine, float], lo: float, hi: float) -> dict[Engine, float]:
    """Weights proportional to `raw` (non-negative), each clipped to [lo, hi], summing to 1
    (or to n*hi if even every engine at hi is less): w_i = clip(c * raw_i, lo, hi) with the
    scale c found by bisection, since the sum is non-decreasing in c."""
    n = len(raw)
    if n * hi <= 1:
        return {e: hi for e in raw}
    if n * lo >= 1:
        return {e: lo for e in raw}
    top = max(raw.values())
    if top <= 0:
        return {e: 1.0 / n for e in raw}

    def total(c: float) -> float:
        return sum(min(hi, max(lo, c * w)) for w in raw.values())

    low, high = 0.0, 1.0
    while total(high) < 1:
        high *= 2
        if high > 1e300:
            break
    for _ in range(200):
        mid = (low + high) / 2
        if total(mid) < 1:
            low = mid
        else:
            high = mid
    return {e: min(hi, max(lo, high * w)) for e, w in raw.items()}


@dataclass
class Governor:
    """Allocates `equity` across ENGINES from their realized PnL; see the module doc."""

    config: GovernorConfig = field(default_factory=GovernorConfig)
    stats: dict[Engine, EngineStats] = field(
        default_factory=lambda: {e: EngineStats() for e in ENGINES})
    latest: AllocationUpdated | None = None
    seen: set[str] = field(default_factory=set)

    def regime(self) -> str:
        cfg = self.config
        for s in self.stats.values():
            if s.trades >= cfg.regime_min_trades and s.long_var > 0 \
                    and s.short_var > cfg.volatile_ratio ** 2 * s.long_var:
                return VOLATILE
        return CALM

    def weights(self) -> dict[Engine, float]:
        """Target weights now, regime shrink included (sum <= 1)."""
        cfg = self.config
        scores = {e: self.stats[e].score(cfg) / cfg.temperature for e in ENGINES}
        top = max(scores.values())
        raw = {e: math.exp(s - top) for e, s in scores.items()}
        w = bounded_weights(raw, cfg.min_weight, cfg.max_weight)
        scale = cfg.volatile_scale if self.regime() == VOLATILE else 1.0
        return {e: w[e] * scale for e in ENGINES}

    def allocations(self) -> tuple[EngineAllocation, ...]:
        cfg = self.config
        out = []
        for e, w in self.weights().items():
            weight = Decimal(repr(w)).quantize(W_STEP, rounding=ROUND_DOWN)
            capital = (cfg.equity * weight).quantize(CENT, rounding=ROUND_DOWN)
            budget = (capital * Decimal(repr(cfg.risk_budget_pct))).quantize(
                CENT, rounding=ROUND_DOWN)
            s = self.stats[e]
            out.append(EngineAllocation(
                engine=e, weight=weight, capital=capital, risk_budget=budget,
                reason=f"trades {s.trades}, ewma pnl {s.mean:.4f}, score {s.score(cfg):.3f}"))
        return tuple(out)

    def on_trade(self, t: TradeClosed) -> AllocationUpdated | None:
        """Fold one closed trade in; an `AllocationUpdated` if the allocation moved by more
        than the threshold (or the regime changed, or none was published yet)."""
        if not self.config.enabled or t.trade_id in self.seen:
            return None
        self.seen.add(t.trade_id)
        self.stats[t.engine].add(float(t.realized_pnl), self.config)
        allocs, regime = self.allocations(), self.regime()
        if self.latest is not None and regime == self.latest.regime:
            before = {a.engine: a.weight for a in self.latest.allocations}
            moved = max(abs(a.weight - before.get(a.engine, Decimal(0))) for a in allocs)
            if moved <= Decimal(repr(self.config.change_threshold)):
                return None
        version = 1 if self.latest is None else self.latest.version + 1
        self.latest = AllocationUpdated(ts_event=t.ts_event, version=version, regime=regime,
                                        allocations=allocs, **t.caused())
        return self.latest


def apply_allocation(limits: RiskLimits, allocation: AllocationUpdated | None) -> RiskLimits:
    """Limits whose per-engine notional cap is min(configured cap, allocated capital)."""
    if allocation is None:
        return limits
    caps = dict(limits.max_notional)
    for a in allocation.allocations:
        if a.engine in caps:
            caps[a.engine] = min(caps[a.engine], a.capital)
    return replace(limits, max_notional=caps)
