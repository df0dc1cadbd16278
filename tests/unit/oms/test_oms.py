"""The Oms aggregate: reports through the state machine into positions, PnL and trades."""
from __future__ import annotations

from decimal import Decimal

from libs.common.clock import TestClock
from libs.common.enums import Engine, OrderSide, OrderStatus
from libs.common.events import Event, PositionUpdated, TradeClosed
from libs.common.identifiers import derived_id
from services.oms.domain.oms import Oms
from tests.unit.oms.factories import (
    FX_KEY,
    GBPUSD,
    KEY,
    closed,
    filled,
    fx_bar,
    intent,
    submitted,
)

D = Decimal


def oms() -> Oms:
    return Oms(TestClock(99))


def arbitrage_round_trip(o: Oms) -> tuple[list[Event], list[Event]]:
    """Buy 0.01 BTC at 50000 on spot (0.1 %), sell 0.01 at 50100 on USDM (0.05 %)."""
    for order_id, side in (("ord-1", OrderSide.BUY), ("ord-2", OrderSide.SELL)):
        assert o.on_report(submitted(order_id, side=side)).ok
    first = o.on_report(filled("ord-1", price="50000", fee="0.5", ts=2))
    second = o.on_report(filled("ord-2", side=OrderSide.SELL, price="50100", fee="0.2505",
                                ts=3, instrument_id="BTC/USDT-PERP.BINANCE_USDM"))
    return list(first.events), list(second.events)


def test_two_arbitrage_legs_close_a_trade_worth_the_spread_minus_both_fees() -> None:
    o = oms()
    o.on_intent(intent())
    first, second = arbitrage_round_trip(o)
    (opened,) = first
    assert isinstance(opened, PositionUpdated)
    assert (opened.quantity, opened.avg_price, opened.fees, opened.realized_pnl) == (
        D("0.01"), D(50000), D("0.5"), D("-0.5"))
    flat, trade = second
    assert isinstance(flat, PositionUpdated) and isinstance(trade, TradeClosed)
    assert (flat.quantity, flat.unrealized_pnl, flat.realized_pnl) == (0, 0, D("0.2495"))
    assert trade.gross_pnl == D("1.00")  # (50100 - 50000) x 0.01
    assert trade.fees == D("0.7505")
    assert trade.realized_pnl == D("0.2495")
    assert (trade.entry_price, trade.exit_price, trade.quantity) == (D(50000), D(50100),
                                                                     D("0.01"))
    assert (trade.position_key, trade.engine, trade.policy_version) == (KEY, Engine.ARBITRAGE, 7)
    assert (trade.intent_ids, trade.opportunity_ids) == (("int-1",), ("opp-1",))
    assert (trade.opened_ts, trade.closed_ts, trade.ts_event) == (2, 3, 3)
    assert trade.trade_id == derived_id("trd", KEY, "fill-ord-1", "fill-ord-2")
    assert trade.causation_id == "evt-fill-ord-2"
    assert trade.ts_init == 99
    assert o.orders_by_status()[OrderStatus.FILLED] == 2


def test_duplicate_fill_changes_nothing() -> None:
    o = oms()
    o.on_report(submitted())
    fill = filled(fee="0.5")
    assert o.on_report(fill).events
    again = o.on_report(fill)
    same_fill_new_event = o.on_report(fill.model_copy(update={"event_id": "evt-other"}))
    for result in (again, same_fill_new_event):
        assert (result.duplicate, result.events, result.error) == (True, (), None)
    view = o.position(KEY)
    assert view is not None and (view.quantity, view.fees) == (D("0.01"), D("0.5"))


def test_fill_for_an_unknown_order_is_an_error_and_changes_nothing() -> None:
    o = oms()
    result = o.on_report(filled("ord-404"))
    assert result.error == "fill fill-ord-404 for unknown order ord-404"
    assert not result.ok and result.events == ()
    assert o.position(KEY) is None


def test_fill_on_a_cancelled_order_is_an_illegal_transition_error() -> None:
    o = oms()
    o.on_report(submitted())
    o.on_report(closed(status=OrderStatus.CANCELLED))
    result = o.on_report(filled())
    assert result.error is not None and "CANCELLED" in result.error
    assert o.position(KEY) is None
    assert o.order_status("ord-1") is OrderStatus.CANCELLED
    # The failed fill is not remembered: it is not a duplicate if it comes again.
    assert not o.on_report(filled()).duplicate


def test_partial_fill_then_cancel_leaves_a_visible_open_position() -> None:
    o = oms()
    o.on_report(submitted())
    o.on_report(filled(qty="0.004", status=OrderStatus.PARTIAL, leaves_quantity=D("0.006")))
    assert o.order_status("ord-1") is OrderStatus.PARTIAL
    o.on_report(closed(reason="insufficient depth: filled 0.004 of 0.01"))
    assert o.order_status("ord-1") is OrderStatus.CANCELLED
    (view,) = o.open_positions()
    assert view.quantity == D("0.004")


def test_rejection_of_an_order_never_acknowledged_is_recorded() -> None:
    o = oms()
    assert o.on_report(closed("ord-9", status=OrderStatus.REJECTED, reason="kill switch")).ok
    assert o.order_status("ord-9") is OrderStatus.REJECTED


def test_redelivered_submit_and_close_are_duplicates() -> None:
    o = oms()
    o.on_report(submitted())
    assert o.on_report(submitted().model_copy(update={"event_id": "evt-x"})).duplicate
    o.on_report(closed(status=OrderStatus.EXPIRED))
    assert o.on_report(closed(status=OrderStatus.EXPIRED, event_id="evt-y")).duplicate


def test_close_report_with_a_non_closing_status_is_an_error() -> None:
    o = oms()
    o.on_report(submitted())
    assert o.on_report(closed(status=OrderStatus.FILLED)).error is not None
    assert o.order_status("ord-1") is OrderStatus.OPEN


def test_trade_waits_for_its_intent_to_carry_the_policy_version() -> None:
    o = oms()
    _, second = arbitrage_round_trip(o)
    assert [type(e) for e in second] == [PositionUpdated]
    assert o.held_trades == 1
    (trade,) = o.on_intent(intent())
    assert isinstance(trade, TradeClosed)
    assert (trade.policy_version, trade.realized_pnl) == (7, D("0.2495"))
    assert o.held_trades == 0
    assert o.on_intent(intent()) == []


def fx_long(o: Oms, side: OrderSide = OrderSide.BUY) -> None:
    o.on_intent(intent(position_key=FX_KEY))
    o.on_report(submitted("ord-fx", position_key=FX_KEY, instrument_id=GBPUSD, side=side,
                          quantity=D(10000)))
    o.on_report(filled("ord-fx", position_key=FX_KEY, instrument_id=GBPUSD, side=side,
                       qty="10000", price="1.5752"))


def test_bar_marks_a_long_at_the_bid_close() -> None:
    o = oms()
    fx_long(o)
    (update,) = o.on_bar(fx_bar(10, "1.5760", "1.5762"))
    assert isinstance(update, PositionUpdated)
    assert (update.mark_price, update.unrealized_pnl) == (D("1.5760"), D("8.0000"))
    assert update.ts_event == 10


def test_bar_marks_a_short_at_the_ask_close() -> None:
    o = oms()
    fx_long(o, OrderSide.SELL)
    (update,) = o.on_bar(fx_bar(10, "1.5740", "1.5742"))
    assert isinstance(update, PositionUpdated)
    assert update.unrealized_pnl == D("0.0010") * 10000


def test_bar_publishes_only_when_the_unrealized_pnl_moves() -> None:
    o = oms()
    fx_long(o)
    assert o.on_bar(fx_bar(10, "1.5760", "1.5762"))
    assert o.on_bar(fx_bar(10, "1.5770", "1.5772")) == []  # redelivered / stale bar
    assert o.on_bar(fx_bar(20, "1.5760", "1.5790")) == []  # same bid close
    assert o.on_bar(fx_bar(30, "1.5760", "1.5762", instrument_id="EUR/USD.FXCM")) == []


def test_flat_position_is_not_marked() -> None:
    o = oms()
    fx_long(o)
    o.on_report(submitted("ord-x", position_key=FX_KEY, instrument_id=GBPUSD,
                          side=OrderSide.SELL))
    o.on_report(filled("ord-x", position_key=FX_KEY, instrument_id=GBPUSD,
                       side=OrderSide.SELL, qty="10000", price="1.5800"))
    assert o.on_bar(fx_bar(10, "1.5760", "1.5762")) == []


def test_views_sum_pnl_per_engine_and_count_orders_by_status() -> None:
    o = oms()
    o.on_intent(intent())
    arbitrage_round_trip(o)
    fx_long(o)
    o.on_bar(fx_bar(10, "1.5760", "1.5762"))
    totals = o.totals()
    arb, fx = totals[Engine.ARBITRAGE], totals[Engine.FOREX]
    assert (arb.realized_pnl, arb.fees, arb.trades, arb.open_positions) == (
        D("0.2495"), D("0.7505"), 1, 0)
    assert (fx.realized_pnl, fx.unrealized_pnl, fx.trades, fx.open_positions) == (
        0, D(8), 0, 1)
    assert [p.position_key for p in o.open_positions()] == [FX_KEY]
    counts = o.orders_by_status()
    assert counts[OrderStatus.FILLED] == 3 and sum(counts.values()) == 3
    assert set(counts) == set(OrderStatus)
