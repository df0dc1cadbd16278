from __future__ import annotations

from decimal import Decimal as D

import pytest

from libs.common.enums import DenialReason, Engine
from libs.common.errors import ConfigurationError
from libs.common.events import AllocationUpdated, OrderDenied, OrderIntentApproved
from libs.common.streams import DECISIONS_ALLOCATIONS
from libs.common.testing.factories import arbitrage, trade
from services.decision.adapters.risk_state import InMemoryRiskState
from services.decision.config import DecisionSettings
from services.decision.domain.governor import (
    CALM,
    VOLATILE,
    Governor,
    GovernorConfig,
    apply_allocation,
    bounded_weights,
)
from services.decision.domain.risk import RiskGate, RiskLimits
from services.decision.handlers import make_handler

N = 0


def closed(engine: Engine, pnl: str, **kw) -> object:
    global N
    N += 1
    return trade(trade_id=f"trd-{N}", engine=engine, realized_pnl=D(pnl), ts_event=N, **kw)


def feed(g: Governor, engine: Engine, pnls: list[str]) -> list[AllocationUpdated]:
    return [a for p in pnls if (a := g.on_trade(closed(engine, p))) is not None]


def weights(a: AllocationUpdated) -> dict[Engine, D]:
    return {x.engine: x.weight for x in a.allocations}


def test_bounded_weights_clip_and_redistribute_to_sum_one() -> None:
    w = bounded_weights({Engine.ARBITRAGE: 100.0, Engine.FOREX: 1.0, Engine.BINARY: 0.0},
                        0.1, 0.6)
    assert w[Engine.ARBITRAGE] == pytest.approx(0.6)
    assert w[Engine.BINARY] == pytest.approx(0.1)
    assert w[Engine.FOREX] == pytest.approx(0.3)
    assert sum(w.values()) == pytest.approx(1.0)


def test_bounded_weights_sum_below_one_when_every_engine_is_at_max() -> None:
    w = bounded_weights({Engine.ARBITRAGE: 1.0, Engine.FOREX: 1.0, Engine.BINARY: 1.0},
                        0.0, 0.2)
    assert all(v == pytest.approx(0.2) for v in w.values())


def test_winning_engine_gets_the_max_weight_and_losing_engine_the_min() -> None:
    g = Governor(GovernorConfig(min_weight=0.1, max_weight=0.6, equity=D("100000")))
    feed(g, Engine.FOREX, ["10", "12", "9", "11", "10", "12", "9", "11"])
    feed(g, Engine.ARBITRAGE, ["-5", "-6", "-4", "-5", "-6", "-4", "-5", "-6"])
    feed(g, Engine.BINARY, ["1", "-1", "1", "-1", "1", "-1", "1", "-1"])
    a = g.latest
    assert a is not None and a.regime == CALM
    w = weights(a)
    assert w[Engine.FOREX] == D("0.6")
    assert w[Engine.ARBITRAGE] == D("0.1")
    assert D("0.1") <= w[Engine.BINARY] <= D("0.6")
    assert sum(w.values()) <= 1
    by = {x.engine: x for x in a.allocations}
    assert by[Engine.FOREX].capital == D("60000.00")
    assert by[Engine.FOREX].risk_budget == D("1200.00")  # 2 % of its capital


def test_volatility_burst_switches_regime_and_shrinks_total_weight() -> None:
    g = Governor(GovernorConfig(volatile_scale=0.5))
    feed(g, Engine.FOREX, ["1", "-1"] * 20)
    calm = g.latest
    assert calm is not None and calm.regime == CALM
    total_calm = sum(weights(calm).values())
    feed(g, Engine.FOREX, ["20", "-20", "20"])
    assert g.regime() == VOLATILE
    vol = g.latest
    assert vol is not None and vol.regime == VOLATILE and vol.version > calm.version
    assert sum(weights(vol).values()) == pytest.approx(total_calm * D("0.5"), abs=D("0.001"))


def test_allocation_published_only_when_it_moves_beyond_the_threshold() -> None:
    g = Governor(GovernorConfig(min_trades=5, change_threshold=0.02))
    first = feed(g, Engine.FOREX, ["3"])
    assert [a.version for a in first] == [1]  # the first allocation is always published
    assert set(weights(first[0]).values()) == {D("0.3333")}
    # below min_trades every engine scores neutral: no move, nothing published
    assert feed(g, Engine.FOREX, ["3", "3", "3"]) == []
    moved = feed(g, Engine.FOREX, ["3", "4"])
    assert [a.version for a in moved] == [2]
    dup = trade(trade_id="trd-dup", engine=Engine.FOREX, realized_pnl=D(9))
    g.on_trade(dup)
    count = g.stats[Engine.FOREX].trades
    assert g.on_trade(dup) is None  # a redelivery is ignored
    assert g.stats[Engine.FOREX].trades == count


def test_disabled_governor_never_publishes() -> None:
    g = Governor(GovernorConfig(enabled=False))
    assert feed(g, Engine.FOREX, ["1", "2", "3"]) == []
    assert g.latest is None


def test_apply_allocation_caps_notional_at_min_of_limit_and_capital() -> None:
    g = Governor(GovernorConfig(equity=D("9000")))
    a = g.on_trade(closed(Engine.FOREX, "1"))
    limits = apply_allocation(RiskLimits(), a)
    assert limits.max_notional[Engine.ARBITRAGE] == D("2999.70")  # capital below 5000
    assert limits.max_notional[Engine.BINARY] == D("100")  # configured cap below capital
    assert apply_allocation(RiskLimits(), None) == RiskLimits()


def test_bounds_that_cannot_sum_to_one_fail_at_start_up() -> None:
    with pytest.raises(ConfigurationError):
        GovernorConfig(min_weight=0.4)
    with pytest.raises(ConfigurationError):
        DecisionSettings(governor_min_weight=0.3, governor_max_weight=0.2)


async def test_handler_publishes_allocation_and_gate_respects_allocated_capital() -> None:
    gate = RiskGate(RiskLimits(), InMemoryRiskState())
    handle = make_handler(gate, Governor(GovernorConfig(equity=D("1500"))))
    out = await handle("oms.trades", closed(Engine.FOREX, "1"))
    assert [s for s, _ in out] == [DECISIONS_ALLOCATIONS]
    assert isinstance(out[0][1], AllocationUpdated)
    assert gate.limits.max_notional[Engine.ARBITRAGE] == D("499.95")
    [(_, denied)] = await handle("opportunities", arbitrage(net_edge_bps=D("5"),
                                                            notional=D("600")))
    assert isinstance(denied, OrderDenied) and denied.reason is DenialReason.MAX_NOTIONAL
    [(_, ok)] = await handle("opportunities", arbitrage(opportunity_id="opp-2",
                                                        net_edge_bps=D("5"), notional=D("400")))
    assert isinstance(ok, OrderIntentApproved)


def test_regime_stays_calm_until_enough_trades_to_judge() -> None:
    g = Governor(GovernorConfig(regime_min_trades=20))
    feed(g, Engine.FOREX, ["1", "-1", "1", "-1", "1", "40", "-40"])
    assert g.regime() == CALM


async def test_allocation_published_but_caps_untouched_when_not_enforced() -> None:
    gate = RiskGate(RiskLimits(), InMemoryRiskState())
    handle = make_handler(gate, Governor(GovernorConfig(equity=D("1500"))),
                          enforce_allocation=False)
    out = await handle("oms.trades", closed(Engine.FOREX, "1"))
    assert [s for s, _ in out] == [DECISIONS_ALLOCATIONS]
    assert gate.limits == RiskLimits()
