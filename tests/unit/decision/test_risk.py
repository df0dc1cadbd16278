from __future__ import annotations

from decimal import Decimal as D

from libs.common.enums import DenialReason, Engine, OrderSide
from libs.common.events import KillSwitchSet, OrderDenied, OrderIntentApproved, PolicyUpdated
from libs.common.testing.factories import arbitrage, forex_signal, position
from services.decision.domain.risk import RiskGate, RiskLimits


def gate(**kw) -> RiskGate:
    return RiskGate(RiskLimits(**kw))


def test_near_miss_is_denied_for_min_net_edge_with_its_edge() -> None:
    out = gate().decide(arbitrage(net_edge_bps=D("-11.67")))
    assert isinstance(out, OrderDenied)
    assert out.reason is DenialReason.MIN_NET_EDGE
    assert out.net_edge_bps == D("-11.67")
    assert out.correlation_id and out.causation_id


def test_profitable_arbitrage_becomes_a_two_leg_market_intent() -> None:
    opp = arbitrage(net_edge_bps=D("2.5"), net_pnl=D("0.15"))
    out = gate().decide(opp)
    assert isinstance(out, OrderIntentApproved)
    assert [leg.side for leg in out.legs] == [OrderSide.BUY, OrderSide.SELL]
    assert [leg.quantity for leg in out.legs] == [D("0.01"), D("0.01")]
    assert out.position_key.startswith("ARBITRAGE:BTC:")
    assert out.causation_id == opp.event_id
    assert out.signal_ts == 1_000


def test_kill_switch_denies_before_anything_else() -> None:
    g = gate()
    g.on_kill_switch(KillSwitchSet(ts_event=0, active=True))
    out = g.decide(arbitrage(net_edge_bps=D("5")))
    assert isinstance(out, OrderDenied) and out.reason is DenialReason.KILL_SWITCH


def test_stale_quote_is_denied() -> None:
    out = gate(max_quote_age_ns=100).decide(arbitrage(net_edge_bps=D("5"),
                                                      oldest_quote_age_ns=101))
    assert isinstance(out, OrderDenied) and out.reason is DenialReason.STALE_QUOTE


def test_order_denied_when_notional_exceeds_limit() -> None:
    out = gate(max_notional={Engine.FOREX: D("1000")}).decide(forex_signal(notional=D("15760")))
    assert isinstance(out, OrderDenied) and out.reason is DenialReason.MAX_NOTIONAL


def test_max_open_positions_counts_nonzero_positions() -> None:
    g = gate(max_open_positions=1)
    g.on_position(position(position_key="a", quantity=D("1")))
    out = g.decide(forex_signal())
    assert isinstance(out, OrderDenied) and out.reason is DenialReason.MAX_OPEN_POSITIONS
    g.on_position(position(position_key="a", quantity=D("0")))
    assert isinstance(g.decide(forex_signal(opportunity_id="opp-2")), OrderIntentApproved)


def test_forex_signal_becomes_bracketed_entry() -> None:
    out = gate().decide(forex_signal())
    assert isinstance(out, OrderIntentApproved)
    assert out.bracket is not None
    assert (out.bracket.take_profit, out.bracket.stop_loss) == (D("1.57700"), D("1.57525"))
    assert out.legs[0].quantity == D("10000")


def test_disabled_policy_denies_and_names_its_version() -> None:
    g = gate()
    g.on_policy(PolicyUpdated(ts_event=0, version=4, engine=Engine.FOREX,
                              strategy="fx_rsi_reversion", enabled=False,
                              size_multiplier=D(0), trades=20, wins=5, mean_pnl=D("-1"),
                              ewma_pnl=D("-1"), total_pnl=D("-20"), reason="losing"))
    out = g.decide(forex_signal())
    assert isinstance(out, OrderDenied) and out.reason is DenialReason.POLICY_DISABLED
    assert out.policy_version == 4


def test_redelivered_opportunity_is_decided_once() -> None:
    g = gate()
    assert g.decide(forex_signal()) is not None
    assert g.decide(forex_signal()) is None
