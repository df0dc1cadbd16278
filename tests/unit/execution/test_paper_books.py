"""Paper fills against order books: walking, fees, latency, event-time determinism."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from libs.common.clock import TestClock
from libs.common.enums import OrderSide, OrderStatus, OrderType
from libs.common.errors import ConfigurationError
from libs.common.events import (
    Event,
    IntentLeg,
    OrderBookUpdated,
    OrderClosed,
    OrderFilled,
    OrderIntentApproved,
    OrderSubmitted,
    ReplayFinished,
)
from libs.common.identifiers import derived_id
from services.execution.domain.latency import LatencyModel
from services.execution.domain.paper import PaperConfig, PaperVenue
from tests.unit.execution.factories import (
    COINM,
    MS,
    SPOT,
    T0,
    book,
    intent,
    leg,
    replay_finished,
)

D = Decimal
ASKS = [("100", "1"), ("101", "2"), ("103", "4")]
BIDS = [("99", "1"), ("98", "2")]


Input = OrderBookUpdated | OrderIntentApproved | ReplayFinished


def venue(**config: Any) -> PaperVenue:
    return PaperVenue(TestClock(T0), PaperConfig(**config))


def of(events: list[Event], cls: type[Any]) -> list[Any]:
    return [e for e in events if isinstance(e, cls)]


def run(v: PaperVenue, inputs: list[Input]) -> list[Event]:
    """Feed inputs in order; return everything the venue published."""
    out: list[Event] = []
    for x in inputs:
        if isinstance(x, OrderBookUpdated):
            out += v.on_book(x)
        elif isinstance(x, OrderIntentApproved):
            out += v.on_intent(x)
        else:
            out += v.on_replay_finished(x)
    return out


# ---- book walking ---------------------------------------------------------------------------

def test_market_buy_walks_asks_of_the_book_at_the_due_time() -> None:
    v = venue()
    v.on_book(book(T0, bids=BIDS, asks=ASKS))
    v.on_book(book(T0 + 100 * MS, bids=BIDS, asks=[("110", "9")]))
    out = v.on_intent(intent(leg(quantity="2")))
    sub, fill = out
    assert isinstance(sub, OrderSubmitted) and isinstance(fill, OrderFilled)
    assert (sub.order_type, sub.quantity, sub.ts_event) == (OrderType.MARKET, D(2), T0 + 50 * MS)
    assert fill.price == D("100.5")  # (1 x 100 + 1 x 101) / 2
    assert fill.fee == D("0.201")  # 0.001 x 201
    assert (fill.quantity, fill.base_quantity, fill.leaves_quantity) == (D(2), D(2), D(0))
    assert fill.status is OrderStatus.FILLED
    assert fill.levels_taken == 2
    assert fill.book_ts == T0
    assert fill.ts_event == T0 + 50 * MS


def test_market_sell_walks_bids_and_pays_the_venue_taker_rate() -> None:
    v = venue()
    usdm = "BTC/USDT-PERP.BINANCE_USDM"
    v.on_book(book(T0, instrument_id=usdm, bids=BIDS, asks=ASKS))
    v.on_book(book(T0 + 100 * MS, instrument_id=usdm, bids=BIDS, asks=ASKS))
    fill = of(v.on_intent(intent(leg(instrument_id=usdm, side=OrderSide.SELL,
                                     quantity="3"))), OrderFilled)[0]
    assert fill.price == D("295") / D(3)  # 99 + 2 x 98
    assert fill.fee == D("0.1475")  # 0.0005 x 295
    assert fill.side is OrderSide.SELL


def test_thin_book_fills_partially_then_cancels_the_rest() -> None:
    v = venue()
    v.on_book(book(T0, bids=BIDS, asks=[("100", "1"), ("101", "2")]))
    v.on_book(book(T0 + 60 * MS, bids=BIDS, asks=ASKS))
    _, fill, closed = v.on_intent(intent(leg(quantity="5")))
    assert isinstance(fill, OrderFilled) and isinstance(closed, OrderClosed)
    assert fill.status is OrderStatus.PARTIAL
    assert (fill.quantity, fill.leaves_quantity, fill.price) == (D(3), D(2), D("302") / D(3))
    assert closed.status is OrderStatus.CANCELLED
    assert closed.reason == "insufficient depth: filled 3 of 5"
    assert closed.order_id == fill.order_id


def test_empty_book_side_cancels_without_a_fill() -> None:
    v = venue()
    v.on_book(book(T0, bids=BIDS, asks=[]))
    v.on_book(book(T0 + 60 * MS, bids=BIDS, asks=[]))
    _, closed = v.on_intent(intent(leg(quantity="5")))
    assert isinstance(closed, OrderClosed)
    assert (closed.status, closed.reason) == (OrderStatus.CANCELLED,
                                              "insufficient depth: filled 0 of 5")


def test_inverse_contracts_fill_in_base_at_the_base_weighted_vwap() -> None:
    v = venue()
    bids = [("60000", "3"), ("40000", "2")]
    v.on_book(book(T0, instrument_id=COINM, bids=bids, asks=[("60010", "9")]))
    v.on_book(book(T0 + 60 * MS, instrument_id=COINM, bids=bids, asks=[("60010", "9")]))
    fill = of(v.on_intent(intent(leg(instrument_id=COINM, side=OrderSide.SELL, quantity="5",
                                     base_quantity="0.01"))), OrderFilled)[0]
    assert fill.quantity == D(5)  # contracts
    assert fill.base_quantity == D("0.01")  # 300/60000 + 200/40000 BTC
    assert fill.price == D("50000")  # USD per BTC
    assert fill.fee == D("0.25")  # 0.0005 x 500 USD of contracts


# ---- event time -----------------------------------------------------------------------------

def test_latency_picks_the_book_in_force_at_signal_plus_latency() -> None:
    books = [book(T0, asks=[("100", "5")]), book(T0 + 40 * MS, asks=[("102", "5")]),
             book(T0 + 60 * MS, asks=[("104", "5")]), book(T0 + 90 * MS, asks=[("106", "5")])]
    prices = {}
    for latency_ms in (0, 50, 70):
        v = venue(latency=LatencyModel(per_venue_ns={"BINANCE": latency_ms * MS}))
        fill = of(run(v, [*books, intent()]), OrderFilled)[0]
        prices[latency_ms] = (fill.price, fill.book_ts)
    assert prices == {0: (D(100), T0), 50: (D(102), T0 + 40 * MS),
                      70: (D(104), T0 + 60 * MS)}


def test_order_waits_until_a_later_book_makes_its_due_time_final() -> None:
    v = venue()
    assert of(v.on_intent(intent()), OrderSubmitted)
    assert v.on_book(book(T0, asks=[("100", "5")])) == []
    # A second update at exactly the due time may still follow: not final yet.
    assert v.on_book(book(T0 + 50 * MS, asks=[("101", "5")])) == []
    assert v.pending_orders == 1
    fill = of(v.on_book(book(T0 + 51 * MS, asks=[("109", "5")])), OrderFilled)[0]
    assert (fill.price, fill.book_ts) == (D(101), T0 + 50 * MS)
    assert v.pending_orders == 0


def two_leg_inputs() -> tuple[list[Input], OrderIntentApproved]:
    arb = intent(leg("leg0", quantity="0.5"),
                 leg("leg1", instrument_id=COINM, side=OrderSide.SELL, quantity="3",
                     base_quantity="0.005"))
    data = [
        book(T0 - 10 * MS, instrument_id=COINM, bids=[("60000", "1")], asks=[("60100", "9")]),
        book(T0, asks=[("100", "0.2"), ("101", "1")]),
        book(T0 + 30 * MS, instrument_id=COINM, bids=[("60000", "2"), ("59000", "5")],
             asks=[("60100", "9")]),
        book(T0 + 70 * MS, asks=[("120", "1")]),
        book(T0 + 80 * MS, instrument_id=COINM, bids=[("1", "9")], asks=[("60100", "9")]),
    ]
    return data, arb


def test_intent_before_or_after_the_market_data_gives_identical_reports() -> None:
    data, arb = two_leg_inputs()
    runs = []
    for at in range(len(data) + 1):  # the intent at every position of the data stream
        runs.append(run(venue(), [*data[:at], arb, *data[at:]]))
    assert all(r == runs[0] for r in runs[1:])
    kinds = [(type(e).__name__, getattr(e, "order_id", "")) for e in runs[0]]
    o0, o1 = (derived_id("ord", "int-1", "leg0"), derived_id("ord", "int-1", "leg1"))
    assert kinds == [("OrderSubmitted", o0), ("OrderSubmitted", o1), ("OrderFilled", o0),
                     ("OrderFilled", o1)]
    f0, f1 = of(runs[0], OrderFilled)
    assert f0.price == (D("0.2") * 100 + D("0.3") * 101) / D("0.5")
    assert f1.base_quantity == D(200) / D(60000) + D(100) / D(59000)


def test_later_intent_of_the_same_position_key_waits_for_the_earlier_one() -> None:
    v = venue()
    v.on_book(book(T0, asks=[("100", "5")]))
    first = intent(leg(instrument_id=COINM, quantity="1"), intent_id="int-a",
                   position_key="ARBITRAGE:BTC")
    second = intent(leg(quantity="1"), intent_id="int-b", position_key="ARBITRAGE:BTC")
    v.on_intent(first)
    v.on_book(book(T0 + 60 * MS, asks=[("100", "5")]))
    assert of(v.on_intent(second), OrderFilled) == []  # its book is ready, int-a's is not
    v.on_book(book(T0, instrument_id=COINM, asks=[("60000", "5")]))
    out = v.on_book(book(T0 + 60 * MS, instrument_id=COINM, asks=[("60000", "5")]))
    assert [f.intent_id for f in of(out, OrderFilled)] == ["int-a", "int-b"]


def test_intent_older_than_the_history_fills_on_the_oldest_book_kept_and_counts_it() -> None:
    v = venue(book_history_ns=1_000 * MS)
    for i in range(6):
        v.on_book(book(T0 + i * 500 * MS, asks=[(str(100 + i), "5")]))
    # Kept: the book in force at the cutoff (2500 - 1000 ms) and after. Due T0 + 50 ms is gone.
    fill = of(v.on_intent(intent()), OrderFilled)[0]
    assert (fill.price, fill.book_ts) == (D(103), T0 + 1500 * MS)
    assert fill.book_ts > fill.ts_event
    assert v.late_fills == 1


def test_out_of_order_book_is_ignored() -> None:
    v = venue()
    v.on_book(book(T0 + 40 * MS, asks=[("100", "5")]))
    v.on_book(book(T0 + 30 * MS, asks=[("50", "5")]))
    v.on_book(book(T0 + 60 * MS, asks=[("100", "5")]))
    assert of(v.on_intent(intent()), OrderFilled)[0].price == D(100)


# ---- end of replay --------------------------------------------------------------------------

def test_replay_end_fills_waiting_orders_on_the_last_book() -> None:
    v = venue()
    v.on_book(book(T0 + 10 * MS, asks=[("100", "5")]))
    v.on_intent(intent())
    fill = of(v.on_replay_finished(replay_finished()), OrderFilled)[0]
    assert (fill.price, fill.book_ts, fill.ts_event) == (D(100), T0 + 10 * MS, T0 + 50 * MS)
    assert v.pending_orders == 0


def test_intent_arriving_after_the_replay_end_fills_at_once_on_the_last_book() -> None:
    v = venue()
    v.on_book(book(T0 + 10 * MS, asks=[("100", "5")]))
    v.on_replay_finished(replay_finished())
    fill = of(v.on_intent(intent()), OrderFilled)[0]
    assert (fill.price, fill.book_ts) == (D(100), T0 + 10 * MS)
    assert v.pending_orders == 0


def test_end_of_the_bar_replay_leaves_book_orders_waiting() -> None:
    v = venue()
    v.on_book(book(T0 + 10 * MS, asks=[("100", "5")]))
    v.on_intent(intent())
    assert v.on_replay_finished(replay_finished(), books=False, bars=True) == []
    assert v.pending_orders == 1


def test_replay_end_expires_orders_of_an_instrument_never_seen() -> None:
    v = venue()
    v.on_intent(intent())
    (closed,) = v.on_replay_finished(replay_finished())
    assert isinstance(closed, OrderClosed)
    assert closed.status is OrderStatus.EXPIRED
    assert closed.reason == f"no book for {SPOT} before replay end"
    assert closed.ts_event == T0 + 50 * MS  # the due time, not the marker's wall clock


# ---- refusals, dedupe, ids ------------------------------------------------------------------

def test_kill_switch_rejects_every_leg_of_new_intents() -> None:
    v = venue()
    v.on_kill_switch(True)
    out = v.on_intent(intent(leg("leg0"), leg("leg1", instrument_id=COINM)))
    assert [(type(e), e.status, e.reason) for e in of(out, OrderClosed)] == [
        (OrderClosed, OrderStatus.REJECTED, "kill switch")] * 2
    assert len(out) == 2
    v.on_kill_switch(False)
    assert of(v.on_intent(intent(intent_id="int-2")), OrderSubmitted)


def test_redelivered_intent_produces_nothing_new() -> None:
    v = venue()
    v.on_book(book(T0, asks=[("100", "5")]))
    v.on_intent(intent())
    assert v.on_intent(intent()) == []
    fills = of(v.on_book(book(T0 + 60 * MS, asks=[("100", "5")])), OrderFilled)
    assert len(fills) == 1


def test_ids_and_event_ids_are_derived_from_the_intent() -> None:
    inputs: list[Input] = [book(T0, asks=[("100", "5")]), book(T0 + 60 * MS, asks=ASKS),
                           intent()]
    first, second = run(venue(), inputs), run(venue(), inputs)  # a re-run after a crash
    assert first == second
    (sub,), (fill,) = of(first, OrderSubmitted), of(first, OrderFilled)
    assert sub.order_id == derived_id("ord", "int-1", "leg0")
    assert fill.fill_id == derived_id("fill", "int-1", "leg0")
    assert (sub.event_id, fill.event_id) == (derived_id("evt", "submitted", sub.order_id),
                                             derived_id("evt", "filled", fill.fill_id))


def test_reports_carry_the_intent_chain_and_its_names() -> None:
    v = venue()
    v.on_book(book(T0, asks=[("100", "5")]))
    v.on_book(book(T0 + 60 * MS, asks=[("100", "5")]))
    arb = intent()
    out = v.on_intent(arb)
    (sub,), (fill,) = of(out, OrderSubmitted), of(out, OrderFilled)
    assert (sub.correlation_id, sub.causation_id) == (arb.correlation_id, arb.event_id)
    assert (fill.correlation_id, fill.causation_id) == (arb.correlation_id, sub.event_id)
    for e in (sub, fill):
        assert (e.intent_id, e.engine, e.strategy, e.position_key) == (
            arb.intent_id, arb.engine, arb.strategy, arb.position_key)
        assert e.ts_init == T0


@pytest.mark.parametrize(("the_leg", "reason"), [
    (leg(order_type=OrderType.STOP), "paper venue takes MARKET and LIMIT orders only, got STOP"),
    (leg(order_type=OrderType.LIMIT), "LIMIT order needs a positive limit_price, got None"),
    (leg(instrument_id="BTC/USD.KRAKEN"), "no taker fee configured for venue KRAKEN"),
    (leg(quantity="0"), "quantity must be positive, got 0 (0 base)"),
])
def test_orders_the_paper_venue_cannot_take_are_rejected_with_the_reason(
        the_leg: IntentLeg, reason: str) -> None:
    (closed,) = venue().on_intent(intent(the_leg))
    assert isinstance(closed, OrderClosed)
    assert (closed.status, closed.reason) == (OrderStatus.REJECTED, reason)


@pytest.mark.parametrize("config", [{"taker_fees": {"BINANCE": D("-0.001")}},
                                    {"book_history_ns": 0}, {"bar_history": 0}])
def test_invalid_paper_configuration_fails_at_construction(config: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        PaperConfig(**config)
