"""Restart of the OMS domain: snapshot round trip, replay equality, close causes, dedupe."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

from libs.common.clock import TestClock
from libs.common.enums import CloseCause, Engine, OrderSide, OrderStatus
from libs.common.errors import ValidationFailed
from libs.common.events import Event, OrderIntentApproved, PositionUpdated, TradeClosed
from services.oms.domain.oms import STATE_VERSION, Oms
from services.oms.domain.snapshot import (
    SnapshotInvalid,
    decode_snapshot,
    encode_snapshot,
)
from services.oms.handlers import make_handler
from tests.unit.oms.factories import KEY, closed, filled, intent, submitted
from tests.unit.oms.scenario import script

IDS = {"orders.intents": "5-0", "orders.reports": "7-3"}


def feed(o: Oms, events: list[Event]) -> list[Event]:
    """Handle as live: every output is kept."""
    out: list[Event] = []
    for e in events:
        if isinstance(e, OrderIntentApproved):
            out += o.on_intent(e)
        else:
            out += o.on_report(e).events  # type: ignore[arg-type]
    return out


def fresh() -> Oms:
    return Oms(TestClock(99), dust={Engine.ARBITRAGE: Decimal("0.00001")})


def test_each_closed_trade_records_why_it_closed() -> None:
    trades = [e for e in feed(fresh(), script()) if isinstance(e, TradeClosed)]
    assert [(t.position_key, t.cause) for t in trades] == [
        (KEY, CloseCause.HEDGED),
        ("FOREX:GBP/USD.FXCM:int-fx", CloseCause.TAKE_PROFIT),
        ("FOREX:GBP/USD.FXCM:int-fx2", CloseCause.STOP_LOSS),
    ]
    assert all(t.schema_version == 2 for t in trades)


def test_a_binary_trade_closes_at_expiry() -> None:
    key = "BINARY:EURUSD:int-b"
    names = dict(intent_id="int-b", position_key=key, engine=Engine.BINARY, strategy="bin")
    out = feed(fresh(), [intent(**names), submitted("b-1", **names),
                         submitted("b-2", **names, side=OrderSide.SELL),
                         filled("b-1", **names, price="1"),
                         filled("b-2", **names, side=OrderSide.SELL, price="1.8")])
    (trade,) = [e for e in out if isinstance(e, TradeClosed)]
    assert trade.cause is CloseCause.EXPIRY


@pytest.mark.parametrize("cut", [3, 6, 11, 14, 18])
def test_snapshot_round_trip_then_continuing_gives_the_live_outputs_and_state(cut: int) -> None:
    events = script()
    live = fresh()
    live_out = feed(live, events)

    first = fresh()
    feed(first, events[:cut])
    raw = encode_snapshot(first.to_state(), IDS)
    snap = decode_snapshot(raw)
    assert snap.ids == IDS
    restored = fresh()
    restored.restore(snap.state)
    assert restored.to_state() == first.to_state()
    assert feed(restored, events[cut:]) == live_out[len(feed(fresh(), events[:cut])):]
    assert restored.to_state() == live.to_state()


def test_replay_with_outputs_dropped_rebuilds_the_live_state() -> None:
    live = fresh()
    feed(live, script())
    replayed = fresh()
    for e in script():  # the rebuild feeds the same domain and publishes nothing
        if isinstance(e, OrderIntentApproved):
            replayed.on_intent(e)
        else:
            replayed.on_report(e)  # type: ignore[arg-type]
    assert replayed.to_state() == live.to_state()
    assert replayed.totals() == live.totals()
    assert replayed.open_positions() == live.open_positions() == []


def test_a_replayed_fill_delivered_again_changes_nothing() -> None:
    o = fresh()
    feed(o, script())
    before = o.to_state()
    again = script()[5]  # the fill that closed the arbitrage trade
    result = o.on_report(again)  # type: ignore[arg-type]
    assert (result.duplicate, result.events, result.error) == (True, (), None)
    # the same fill under a new event id (re-emitted by a restarted execution) too
    result = o.on_report(again.model_copy(update={"event_id": "evt-other"}))  # type: ignore
    assert (result.duplicate, result.events) == (True, ())
    assert o.to_state() == before


def test_an_acknowledgement_redelivered_under_a_new_event_id_is_deduplicated_by_order_id(
) -> None:
    o = fresh()
    o.on_intent(intent())
    assert o.on_report(submitted("ord-1")).ok
    assert o.on_report(filled("ord-1", qty="0.004", fill_id="f", status=OrderStatus.PARTIAL,
                              leaves_quantity="0.006")).ok
    result = o.on_report(submitted("ord-1", event_id="evt-sub-redelivered"))
    assert result.duplicate and o.order_status("ord-1") is OrderStatus.PARTIAL


def test_a_trade_held_for_its_intent_survives_the_snapshot() -> None:
    o = fresh()
    for r in (submitted("ord-1"), submitted("ord-2", side=OrderSide.SELL),
              filled("ord-1"), filled("ord-2", side=OrderSide.SELL, price="50100")):
        assert o.on_report(r).ok
    assert o.held_trades == 1
    restored = fresh()
    restored.restore(decode_snapshot(encode_snapshot(o.to_state(), IDS)).state)
    (trade,) = restored.on_intent(intent())
    assert isinstance(trade, TradeClosed)
    assert (trade.cause, trade.policy_version, trade.gross_pnl) == (CloseCause.HEDGED, 7, 1)


def test_snapshot_state_is_json_with_decimals_as_strings() -> None:
    o = fresh()
    feed(o, script()[:5])
    doc = json.loads(encode_snapshot(o.to_state(), IDS))
    pos = doc["state"]["positions"][KEY]
    assert (pos["qty"], pos["fees"]) == ("0.010", "0.5")
    assert doc["version"] == 1 and doc["state"]["version"] == STATE_VERSION


@pytest.mark.parametrize("raw", [b"{not json", b"[]", b'{"version": 99, "ids": {}, "state": {}}',
                                 b'{"version": 1, "ids": {"s": "x-y"}, "state": {}}',
                                 b'{"version": 1, "state": {}}'])
def test_a_corrupt_or_unknown_snapshot_is_refused(raw: bytes) -> None:
    with pytest.raises(SnapshotInvalid):
        decode_snapshot(raw)


def test_a_state_of_another_version_does_not_load_and_changes_nothing() -> None:
    o = fresh()
    feed(o, script()[:5])
    before = o.to_state()
    with pytest.raises(ValueError, match="version"):
        o.restore(before | {"version": STATE_VERSION + 1})
    broken = before | {"positions": {KEY: {"engine": "ARBITRAGE"}}}
    with pytest.raises(KeyError):
        o.restore(broken)
    assert o.to_state() == before


async def test_an_illegal_transition_is_a_named_error_the_handler_rejects() -> None:
    o = fresh()
    handle = make_handler(o)
    await handle("orders.intents", intent())
    await handle("orders.reports", submitted("ord-1"))
    await handle("orders.reports", closed("ord-1", status=OrderStatus.CANCELLED))
    before = o.to_state()
    with pytest.raises(ValidationFailed, match="IllegalOrderTransition.*CANCELLED.*FILL_FULL"):
        await handle("orders.reports", filled("ord-1"))
    assert o.to_state() == before


async def test_the_handler_routes_outputs_to_the_configured_streams() -> None:
    handle = make_handler(fresh(), trades_stream="t", positions_stream="p")
    outs = []
    for e in script()[:6]:
        outs += await handle("x", e)
    assert [(s, type(e)) for s, e in outs][-2:] == [("p", PositionUpdated), ("t", TradeClosed)]


def test_market_child_opposite_its_parent_is_an_unwind() -> None:
    from libs.common.enums import CloseCause, Engine, OrderSide, OrderType
    from services.oms.domain.oms import OrderRecord, close_cause

    def rec(oid: str, side: OrderSide, otype: OrderType, parent: str | None) -> OrderRecord:
        return OrderRecord(order_id=oid, intent_id="i", opportunity_id="o",
                           engine=Engine.ARBITRAGE, strategy="s", position_key="k",
                           instrument_id="BTC/USDT.BINANCE", side=side, order_type=otype,
                           parent_order_id=parent)

    leg = rec("leg", OrderSide.BUY, OrderType.MARKET, None)
    unwind = rec("u", OrderSide.SELL, OrderType.MARKET, "leg")
    hedge = rec("h", OrderSide.BUY, OrderType.MARKET, "leg")
    assert close_cause(unwind, leg) is CloseCause.UNWIND
    assert close_cause(hedge, leg) is CloseCause.HEDGED
    assert close_cause(leg) is CloseCause.HEDGED
