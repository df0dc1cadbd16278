from __future__ import annotations

from decimal import Decimal as D

from libs.common.enums import DenialReason, Engine, OrderSide
from libs.common.events import KillSwitchSet, OrderDenied, OrderIntentApproved, PolicyUpdated
from libs.common.testing.factories import arbitrage, binary_signal, forex_signal, position, trade
from services.decision.adapters.risk_state import InMemoryRiskState
from services.decision.domain.risk import RiskGate, RiskLimits
from services.decision.domain.sizing import SizingMode


def gate(**kw) -> RiskGate:
    return RiskGate(RiskLimits(**kw), InMemoryRiskState())


async def test_near_miss_is_denied_for_min_net_edge_with_its_edge() -> None:
    out = await gate().decide(arbitrage(net_edge_bps=D("-11.67")))
    assert isinstance(out, OrderDenied)
    assert out.reason is DenialReason.MIN_NET_EDGE
    assert out.net_edge_bps == D("-11.67")
    assert out.detail == "net edge -11.67 bps < 0 bps"
    assert out.correlation_id and out.causation_id


async def test_profitable_arbitrage_becomes_a_two_leg_market_intent() -> None:
    opp = arbitrage(net_edge_bps=D("2.5"), net_pnl=D("0.15"))
    out = await gate().decide(opp)
    assert isinstance(out, OrderIntentApproved)
    assert [leg.side for leg in out.legs] == [OrderSide.BUY, OrderSide.SELL]
    assert [leg.quantity for leg in out.legs] == [D("0.01"), D("0.01")]
    assert out.position_key.startswith("ARBITRAGE:BTC:")
    assert out.causation_id == opp.event_id
    assert out.signal_ts == 1_000


async def test_kill_switch_denies_before_anything_else() -> None:
    g = gate()
    await g.on_kill_switch(KillSwitchSet(ts_event=0, active=True))
    out = await g.decide(arbitrage(net_edge_bps=D("5")))
    assert isinstance(out, OrderDenied) and out.reason is DenialReason.KILL_SWITCH
    assert g.kill_switch == "HALTED"


async def test_kill_switch_from_settings_holds_without_a_control_event() -> None:
    out = await gate(kill_switch=True).decide(arbitrage(net_edge_bps=D("5")))
    assert isinstance(out, OrderDenied) and out.reason is DenialReason.KILL_SWITCH


async def test_stale_quote_is_denied() -> None:
    out = await gate(max_quote_age_ns=100).decide(arbitrage(net_edge_bps=D("5"),
                                                            oldest_quote_age_ns=101))
    assert isinstance(out, OrderDenied) and out.reason is DenialReason.STALE_QUOTE


async def test_order_denied_when_notional_exceeds_limit() -> None:
    out = await gate(max_notional={Engine.FOREX: D("1000")}).decide(
        forex_signal(notional=D("15760")))
    assert isinstance(out, OrderDenied) and out.reason is DenialReason.MAX_NOTIONAL
    assert out.detail == "notional 15760.00 > 1000.00"


async def test_max_open_positions_counts_nonzero_positions() -> None:
    g = gate(max_open_positions=1)
    await g.on_position(position(position_key="a", quantity=D("1")))
    out = await g.decide(forex_signal())
    assert isinstance(out, OrderDenied) and out.reason is DenialReason.MAX_OPEN_POSITIONS
    await g.on_position(position(position_key="a", quantity=D("0")))
    assert isinstance(await g.decide(forex_signal(opportunity_id="opp-2")), OrderIntentApproved)


async def test_an_approved_intent_holds_its_slot_until_its_trade_closes() -> None:
    g = gate(max_open_positions=1)
    first = await g.decide(forex_signal())
    assert isinstance(first, OrderIntentApproved)
    second = await g.decide(forex_signal(opportunity_id="opp-2"))
    assert isinstance(second, OrderDenied) and second.reason is DenialReason.MAX_OPEN_POSITIONS
    await g.on_trade(trade(position_key=first.position_key))
    assert isinstance(await g.decide(forex_signal(opportunity_id="opp-3")), OrderIntentApproved)


async def test_forex_signal_becomes_bracketed_entry() -> None:
    out = await gate().decide(forex_signal())
    assert isinstance(out, OrderIntentApproved)
    assert out.bracket is not None
    assert (out.bracket.take_profit, out.bracket.stop_loss) == (D("1.57700"), D("1.57525"))
    assert out.legs[0].quantity == D("10000")


async def test_binary_signal_becomes_a_stake_intent() -> None:
    out = await gate().decide(binary_signal(stake=D("10"), notional=D("10")))
    assert isinstance(out, OrderIntentApproved)
    assert out.legs[0].side is OrderSide.BUY and out.legs[0].quantity == D("10")
    assert out.notional == D("10.00")


async def test_disabled_policy_denies_and_names_its_version() -> None:
    g = gate()
    g.on_policy(PolicyUpdated(ts_event=0, version=4, engine=Engine.FOREX,
                              strategy="fx_rsi_reversion", enabled=False,
                              size_multiplier=D(0), trades=20, wins=5, mean_pnl=D("-1"),
                              ewma_pnl=D("-1"), total_pnl=D("-20"), reason="losing"))
    out = await g.decide(forex_signal())
    assert isinstance(out, OrderDenied) and out.reason is DenialReason.POLICY_DISABLED
    assert out.policy_version == 4


async def test_redelivered_opportunity_is_decided_once() -> None:
    g = gate()
    assert await g.decide(forex_signal()) is not None
    assert await g.decide(forex_signal()) is None


async def test_fixed_fraction_sizing_shrinks_the_forex_entry_and_never_grows_it() -> None:
    g = RiskGate(RiskLimits(equity=D("100000")), InMemoryRiskState(),
                 sizing={Engine.FOREX: SizingMode.FIXED_FRACTION})
    # 1% of 100000 = 1000 of a 15760 notional: 10000 * 1000 / 15760 units, rounded down
    out = await g.decide(forex_signal())
    assert isinstance(out, OrderIntentApproved)
    assert out.legs[0].quantity == D("634.51776649")
    assert out.notional == D("1000.00")
    big = RiskGate(RiskLimits(equity=D("100000000")), InMemoryRiskState(),
                   sizing={Engine.FOREX: SizingMode.FIXED_FRACTION})
    out = await big.decide(forex_signal())
    assert isinstance(out, OrderIntentApproved) and out.legs[0].quantity == D("10000")


async def test_a_reservation_never_confirmed_by_a_position_lapses_after_its_ttl() -> None:
    g = gate(max_open_positions=1, reservation_ttl_ns=60_000_000_000)
    t = 60_000_000_000
    assert isinstance(await g.decide(forex_signal(ts_event=t)), OrderIntentApproved)
    out = await g.decide(forex_signal(opportunity_id="opp-2", ts_event=t + 59_000_000_000))
    assert isinstance(out, OrderDenied) and out.reason is DenialReason.MAX_OPEN_POSITIONS
    later = await g.decide(forex_signal(opportunity_id="opp-3", ts_event=t + 61_000_000_000))
    assert isinstance(later, OrderIntentApproved)
