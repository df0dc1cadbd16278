"""Every gate: one case that trips it (with the figures in the detail) and one that passes."""
from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

import pytest

from libs.common.enums import DenialReason, Engine, InstrumentKind
from libs.common.events import InstrumentInfo
from services.decision.domain.gates import (
    DEFAULT_POLICY,
    GATE_ORDER,
    BalanceGate,
    CooldownGate,
    DailyLossGate,
    Denial,
    DrawdownGate,
    ExposureGate,
    GateContext,
    KillSwitchGate,
    LossStreakGate,
    MaxNotionalGate,
    MinNetEdgeGate,
    MinNotionalGate,
    OpenPosition,
    OpenPositionsGate,
    OrderView,
    Policy,
    PolicyGate,
    RateLimitGate,
    RiskLimits,
    RiskSnapshot,
    StaleGate,
    first_denial,
)

S = 1_000_000_000
T0 = 1_700_000_000 * S

ORDER = OrderView(opportunity_id="opp-1", engine=Engine.FOREX, strategy="fx", asset="GBP",
                  quote="USD", subject="GBP/USD.FXCM", signed_quantity=D("10000"),
                  notional=D("15760"), ts_event=T0, age_ns=0,
                  instrument_ids=("GBP/USD.FXCM",), quantities=(D("10000"),))


def pos(key: str = "p1", qty: str = "10000", notional: str = "15760", asset: str = "GBP",
        subject: str = "GBP/USD.FXCM", unreal: str = "0",
        engine: Engine = Engine.FOREX) -> OpenPosition:
    return OpenPosition(key=key, engine=engine, asset=asset, quote="USD", subject=subject,
                        quantity=D(qty), notional=D(notional), unrealized_pnl=D(unreal))


def ctx(order: OrderView = ORDER, snap: RiskSnapshot | None = None,
        policy: Policy = DEFAULT_POLICY, now: int = T0,
        instruments: dict[str, InstrumentInfo] | None = None, **limits: object) -> GateContext:
    return GateContext(order=order, snapshot=snap or RiskSnapshot(),
                       limits=RiskLimits(**limits),  # type: ignore[arg-type]
                       policy=policy, now_ns=now, instruments=instruments or {})


def denied(d: Denial | None, reason: DenialReason, detail: str) -> None:
    assert d is not None and (d.reason, d.detail) == (reason, detail)


def test_kill_switch_halted_denies_everything() -> None:
    d = KillSwitchGate().check(ctx(snap=RiskSnapshot(kill_active=True)))
    denied(d, DenialReason.KILL_SWITCH, "kill switch is active (HALTED)")
    assert KillSwitchGate().check(ctx()) is None


def test_reducing_denies_what_would_grow_and_passes_what_shrinks() -> None:
    snap = RiskSnapshot(kill_active=True, reduce_only=True, positions=(pos(qty="10000"),))
    d = KillSwitchGate().check(ctx(snap=snap))
    denied(d, DenialReason.REDUCE_ONLY,
           "kill switch is REDUCING and GBP/USD.FXCM +10000 does not reduce an open position")
    sell = replace(ORDER, signed_quantity=D("-4000"))
    assert KillSwitchGate().check(ctx(order=sell, snap=snap)) is None
    flip = replace(ORDER, signed_quantity=D("-20000"))  # |10000 - 20000| is not smaller
    assert KillSwitchGate().check(ctx(order=flip, snap=snap)) is not None


def test_policy_gate() -> None:
    d = PolicyGate().check(ctx(policy=Policy(version=4, enabled=False, size_multiplier=D(0))))
    denied(d, DenialReason.POLICY_DISABLED, "policy v4 disables fx")
    assert PolicyGate().check(ctx()) is None


def test_stale_quote_age_and_ttl() -> None:
    d = StaleGate().check(ctx(order=replace(ORDER, age_ns=600_000_000)))
    denied(d, DenialReason.STALE_QUOTE, "oldest quote 600.0 ms old > 500 ms")
    ttl = replace(ORDER, ttl_ns=200_000_000)
    d = StaleGate().check(ctx(order=ttl, now=T0 + 250_000_000))
    denied(d, DenialReason.STALE_QUOTE, "age 250.0 ms > ttl 200.0 ms")
    assert StaleGate().check(ctx(order=ttl, now=T0 + 150_000_000)) is None


def test_min_net_edge() -> None:
    order = replace(ORDER, net_edge_bps=D("1.5"))
    d = MinNetEdgeGate().check(ctx(order=order, min_net_edge_bps=D("2")))
    denied(d, DenialReason.MIN_NET_EDGE, "net edge 1.50 bps < 2 bps")
    assert MinNetEdgeGate().check(ctx(order=order, min_net_edge_bps=D("1.5"))) is None


def test_max_notional() -> None:
    d = MaxNotionalGate().check(ctx(max_notional={Engine.FOREX: D("10000")}))
    denied(d, DenialReason.MAX_NOTIONAL, "notional 15760.00 > 10000.00")
    assert MaxNotionalGate().check(ctx(max_notional={Engine.FOREX: D("15760")})) is None


def _info(**kw: object) -> dict[str, InstrumentInfo]:
    base: dict[str, object] = dict(instrument_id="GBP/USD.FXCM", venue="FXCM", symbol="GBPUSD",
                                   base="GBP", quote="USD", instrument_kind=InstrumentKind.FX)
    return {"GBP/USD.FXCM": InstrumentInfo(**(base | kw))}  # type: ignore[arg-type]


def test_min_notional_and_lot() -> None:
    d = MinNotionalGate().check(ctx(instruments=_info(min_notional=D("20000"))))
    denied(d, DenialReason.MIN_NOTIONAL, "GBP/USD.FXCM notional 15760.00 < min 20000.00")
    d = MinNotionalGate().check(ctx(instruments=_info(lot_size=D("100000"))))
    denied(d, DenialReason.MIN_NOTIONAL, "GBP/USD.FXCM quantity 10000 < lot 100000")
    d = MinNotionalGate().check(ctx(instruments=_info(min_quantity=D("20000"))))
    denied(d, DenialReason.MIN_NOTIONAL, "GBP/USD.FXCM quantity 10000 < min 20000")
    ok = _info(lot_size=D("1000"), min_quantity=D("1000"), min_notional=D("1000"))
    assert MinNotionalGate().check(ctx(instruments=ok)) is None


def test_daily_loss() -> None:
    d = DailyLossGate().check(ctx(snap=RiskSnapshot(day_pnl=D("-512.3")),
                                  max_daily_loss=D("500")))
    denied(d, DenialReason.DAILY_LOSS, "daily loss 512.30 >= limit 500.00")
    snap = RiskSnapshot(day_pnl=D("-499.99"))
    assert DailyLossGate().check(ctx(snap=snap, max_daily_loss=D("500"))) is None


def test_drawdown_from_the_equity_peak_counts_unrealized() -> None:
    # peak 10000 + 1000 = 11000; now 10000 + 200 realized - 300 unrealized = 9900: 10.00 %
    snap = RiskSnapshot(realized_pnl=D("200"), pnl_peak=D("1000"),
                        positions=(pos(unreal="-300"),))
    d = DrawdownGate().check(ctx(snap=snap, equity=D("10000"), max_drawdown_pct=D("10")))
    denied(d, DenialReason.DRAWDOWN,
           "drawdown 10.00% (equity 9900.00 from peak 11000.00) >= limit 10%")
    assert DrawdownGate().check(ctx(snap=snap, equity=D("10000"),
                                    max_drawdown_pct=D("10.1"))) is None


def test_loss_streak_pauses_then_lets_through() -> None:
    snap = RiskSnapshot(loss_streak=3, last_loss_ts=T0 - 600 * S)
    d = LossStreakGate().check(ctx(snap=snap, max_loss_streak=3,
                                   loss_streak_pause_ns=3600 * S))
    denied(d, DenialReason.LOSS_STREAK, "3 losing trades in a row >= 3; paused 3000.0 s more")
    assert LossStreakGate().check(ctx(snap=snap, max_loss_streak=4)) is None
    assert LossStreakGate().check(ctx(snap=snap, max_loss_streak=3,
                                      loss_streak_pause_ns=600 * S)) is None


def test_cooldown_after_a_loss_in_event_time() -> None:
    snap = RiskSnapshot(last_loss_ts=T0 - 20 * S)
    d = CooldownGate().check(ctx(snap=snap, cooldown_after_loss_ns=30 * S))
    denied(d, DenialReason.COOLDOWN, "20.0 s since last loss < cooldown 30.0 s")
    assert CooldownGate().check(ctx(snap=snap, cooldown_after_loss_ns=20 * S)) is None


def test_max_open_positions() -> None:
    snap = RiskSnapshot(positions=(pos("a", subject="EUR/USD.FXCM"),
                                   pos("b", subject="EUR/USD.FXCM")))
    denied(OpenPositionsGate().check(ctx(snap=snap, max_open_positions=2)),
           DenialReason.MAX_OPEN_POSITIONS, "2 open >= 2")
    assert OpenPositionsGate().check(ctx(snap=snap, max_open_positions=3)) is None


def test_exposure_per_asset_and_portfolio_across_engines() -> None:
    snap = RiskSnapshot(positions=(
        pos("fx", notional="20000"),
        pos("bin", notional="100", engine=Engine.BINARY, subject="GBP/USD.POCKET_OPTION"),
        pos("arb", notional="5000", asset="BTC", subject="BTC", engine=Engine.ARBITRAGE)))
    d = ExposureGate().check(ctx(snap=snap, max_asset_exposure=D("30000")))
    denied(d, DenialReason.EXPOSURE, "GBP exposure 20100.00 + 15760.00 > limit 30000.00")
    d = ExposureGate().check(ctx(snap=snap, max_total_exposure=D("40000")))
    denied(d, DenialReason.EXPOSURE, "portfolio exposure 25100.00 + 15760.00 > limit 40000.00")
    assert ExposureGate().check(ctx(snap=snap, max_asset_exposure=D("35860"),
                                    max_total_exposure=D("40860"))) is None


def test_rate_limit() -> None:
    snap = RiskSnapshot(intents_in_window=10)
    denied(RateLimitGate().check(ctx(snap=snap, max_intents_per_window=10)),
           DenialReason.RATE_LIMIT, "10 intents in 60 s >= 10")
    assert RateLimitGate().check(ctx(snap=snap, max_intents_per_window=11)) is None


def test_balance_is_reduced_by_open_notional_of_the_same_engine_and_currency() -> None:
    snap = RiskSnapshot(positions=(pos("fx", notional="90000"),
                                   pos("arb", notional="50000", engine=Engine.ARBITRAGE)))
    d = BalanceGate().check(ctx(snap=snap, balances={"FOREX:USD": D("100000")}))
    denied(d, DenialReason.INSUFFICIENT_BALANCE,
           "FOREX:USD available 10000.00 (balance 100000.00) < notional 15760.00")
    assert BalanceGate().check(ctx(snap=snap, balances={"FOREX:USD": D("105760")})) is None
    assert BalanceGate().check(ctx(snap=snap)) is None  # no balance configured: not checked


@pytest.mark.parametrize(("kill", "enabled", "expected"), [
    (True, False, DenialReason.KILL_SWITCH),  # kill switch, policy, daily loss, rate all fail
    (False, False, DenialReason.POLICY_DISABLED),  # policy, daily loss, rate fail
    (False, True, DenialReason.DAILY_LOSS),  # daily loss and rate fail
])
def test_the_first_failing_gate_in_the_fixed_order_names_the_denial(
        kill: bool, enabled: bool, expected: DenialReason) -> None:
    snap = RiskSnapshot(kill_active=kill, day_pnl=D("-600"), intents_in_window=5)
    c = ctx(snap=snap, policy=Policy(version=2, enabled=enabled, size_multiplier=D(1)),
            max_daily_loss=D("500"), max_intents_per_window=1)
    d = first_denial(c)
    assert d is not None and d.reason is expected
    assert [g.name for g in GATE_ORDER] == [
        "kill_switch", "policy", "stale", "min_net_edge", "max_notional", "min_notional",
        "daily_loss", "drawdown", "loss_streak", "cooldown", "max_open_positions", "exposure",
        "rate_limit", "balance"]
