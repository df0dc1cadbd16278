"""Limit orders in the paper venue: crossing part, queue position against the tape, maker fee,
time in force, end of replay, and fills independent of how the streams interleave."""
from __future__ import annotations

from decimal import Decimal
from itertools import permutations
from typing import Any

import pytest

from libs.common.clock import TestClock
from libs.common.enums import OrderSide, OrderStatus, OrderType
from libs.common.errors import ConfigurationError
from libs.common.events import (
    Event,
    OrderBookUpdated,
    OrderClosed,
    OrderFilled,
    OrderIntentApproved,
    OrderSubmitted,
    TradeTick,
)
from services.execution.domain.paper import (
    PaperConfig,
    PaperVenue,
    nth_fill_id_for,
    order_id_for,
)
from tests.unit.execution.factories import (
    GBPUSD,
    MS,
    T0,
    book,
    intent,
    leg,
    replay_finished,
    trade,
)

D = Decimal
DUE = T0 + 50 * MS  # BINANCE latency 50 ms
BIDS = (("100", "2"), ("99", "3"), ("98", "4"))
ASKS = (("101", "1"), ("102", "5"), ("103", "2"))
SECOND = 1_000 * MS


def venue(**config: Any) -> PaperVenue:
    return PaperVenue(TestClock(T0), PaperConfig(**config))


def limit_intent(side: OrderSide, price: str, quantity: str, **kw: Any) -> OrderIntentApproved:
    return intent(leg(side=side, quantity=quantity, order_type=OrderType.LIMIT,
                      limit_price=D(price)), **kw)


def feed(v: PaperVenue, events: list[Event]) -> list[Event]:
    out: list[Event] = []
    for e in events:
        if isinstance(e, OrderIntentApproved):
            out += v.on_intent(e)
        elif isinstance(e, OrderBookUpdated):
            out += v.on_book(e)
        elif isinstance(e, TradeTick):
            out += v.on_trade(e)
        else:
            raise TypeError(e)
    return out


def of(events: list[Event], cls: type[Any]) -> list[Any]:
    return [e for e in events if isinstance(e, cls)]


def test_resting_buy_fills_only_after_the_tape_ate_the_queue_ahead() -> None:
    v = venue()
    out = feed(v, [
        book(T0, bids=BIDS, asks=ASKS),
        limit_intent(OrderSide.BUY, "99", "2"),
        trade(DUE + 10 * MS, "99", "2.5", "SELL"),  # 3 ahead of us: 0.5 left ahead
        trade(DUE + 20 * MS, "99", "1.5", "SELL"),  # 0.5 ahead, then 1 of ours
        trade(DUE + 30 * MS, "101", "7", "BUY"),  # a buyer: not our side
        trade(DUE + 40 * MS, "99", "4", "SELL"),  # the last 1
        book(DUE + 100 * MS, bids=BIDS, asks=ASKS),
        trade(DUE + 100 * MS, "100", "1", "SELL"),
    ])
    (sub,) = of(out, OrderSubmitted)
    assert (sub.order_type, sub.limit_price, sub.ts_event) == (OrderType.LIMIT, D(99), DUE)
    fills = of(out, OrderFilled)
    assert [(f.quantity, f.price, f.leaves_quantity, f.status, f.liquidity, f.ts_event)
            for f in fills] == [
        (D(1), D(99), D(1), OrderStatus.PARTIAL, "MAKER", DUE + 20 * MS),
        (D(1), D(99), D(0), OrderStatus.FILLED, "MAKER", DUE + 40 * MS)]
    assert [f.fee for f in fills] == [D("0.001") * 99, D("0.001") * 99]  # BINANCE maker
    assert [f.fill_id for f in fills] == [nth_fill_id_for("int-1", "leg0", n) for n in (0, 1)]
    assert not of(out, OrderClosed) and v.resting_orders == 0


def test_nothing_fills_before_the_tape_reaches_the_time_on_a_tape_venue() -> None:
    v = venue()
    out = feed(v, [
        book(T0, bids=BIDS, asks=ASKS), limit_intent(OrderSide.BUY, "99", "2"),
        book(DUE + 10 * MS, bids=BIDS, asks=(("99", "1"),)),  # would cross us, not final yet
    ])
    assert not of(out, OrderFilled) and v.resting_orders == 1
    # a later trade alone does not make the book at DUE + 10 ms final: more may share its time
    assert feed(v, [trade(DUE + 20 * MS, "99", "1", "BUY")]) == []
    out = feed(v, [book(DUE + 30 * MS, bids=BIDS, asks=ASKS)])
    (fill,) = of(out, OrderFilled)
    assert (fill.quantity, fill.price, fill.ts_event, fill.book_ts) == (
        D(2), D(99), DUE + 10 * MS, DUE + 10 * MS)


def test_marketable_part_takes_up_to_the_limit_and_the_rest_rests_at_the_maker_fee() -> None:
    v = venue(maker_fees={"BINANCE": D("0.0002")})
    out = feed(v, [
        book(T0, bids=BIDS, asks=ASKS),
        limit_intent(OrderSide.BUY, "101.5", "3"),
        trade(DUE + 10 * MS, "101.5", "0.5", "SELL"),  # nothing displayed ahead at 101.5
        book(DUE + 20 * MS, bids=BIDS, asks=ASKS),
        trade(DUE + 30 * MS, "101", "1", "BUY"),
    ])
    taker, maker = of(out, OrderFilled)
    assert (taker.quantity, taker.price, taker.liquidity, taker.fee, taker.ts_event) == (
        D(1), D(101), "TAKER", D("0.001") * 101, DUE)
    assert (maker.quantity, maker.price, maker.liquidity, maker.leaves_quantity) == (
        D("0.5"), D("101.5"), "MAKER", D("1.5"))
    assert maker.fee == D("0.0002") * D("101.5") * D("0.5")


def test_a_book_crossing_the_resting_order_fills_it_at_its_limit() -> None:
    v = venue()
    out = feed(v, [
        book(T0, bids=BIDS, asks=ASKS),
        limit_intent(OrderSide.SELL, "102", "4"),
        book(DUE + 5 * MS, bids=(("102.5", "1"),) + BIDS, asks=ASKS),
        trade(DUE + 50 * MS, "101", "1", "BUY"),
        book(DUE + 60 * MS, bids=BIDS, asks=ASKS),
    ])
    (fill,) = of(out, OrderFilled)
    assert (fill.quantity, fill.price, fill.status, fill.ts_event, fill.side) == (
        D(4), D(102), OrderStatus.FILLED, DUE + 5 * MS, OrderSide.SELL)


def test_unfilled_remainder_expires_at_the_end_of_its_time_in_force() -> None:
    v = venue(limit_tif_ns=SECOND)
    out = feed(v, [
        book(T0, bids=BIDS, asks=ASKS),
        limit_intent(OrderSide.BUY, "99", "2"),
        trade(DUE + 10 * MS, "99", "4", "SELL"),  # 3 ahead, 1 for us
        trade(DUE + SECOND + 1, "99", "9", "SELL"),  # after the expiry: not ours
        book(DUE + SECOND + 2, bids=BIDS, asks=ASKS),
    ])
    (fill,) = of(out, OrderFilled)
    (closed,) = of(out, OrderClosed)
    assert fill.quantity == D(1)
    assert (closed.status, closed.ts_event, closed.reason) == (
        OrderStatus.EXPIRED, DUE + SECOND, "time in force 1s ended: filled 1 of 2")


def test_end_of_replay_runs_resting_orders_to_their_expiry_on_the_data_kept() -> None:
    v = venue(limit_tif_ns=SECOND)
    out = feed(v, [book(T0, bids=BIDS, asks=ASKS), limit_intent(OrderSide.BUY, "99", "2"),
                   trade(DUE + 10 * MS, "99", "3.5", "SELL")])
    assert not of(out, OrderFilled)
    out = v.on_replay_finished(replay_finished(), books=True, bars=False, trades=False)
    assert out == [] and v.resting_orders == 1  # the tape has not ended yet
    out = v.on_replay_finished(replay_finished(), books=False, bars=False, trades=True)
    (fill,) = of(out, OrderFilled)
    (closed,) = of(out, OrderClosed)
    assert (fill.quantity, closed.status, closed.ts_event) == (
        D("0.5"), OrderStatus.EXPIRED, DUE + SECOND)


def test_limit_orders_are_refused_on_bar_venues() -> None:
    (closed,) = venue().on_intent(intent(leg(instrument_id=GBPUSD, order_type=OrderType.LIMIT,
                                             limit_price=D("1.5"))))
    assert (closed.status, closed.reason) == (
        OrderStatus.REJECTED, "LIMIT orders need a book venue; FXCM fills from bars")


def test_time_in_force_must_fit_in_the_history() -> None:
    with pytest.raises(ConfigurationError, match="limit_tif_ns"):
        PaperConfig(limit_tif_ns=40 * SECOND)


def test_reports_are_the_same_whatever_the_interleaving_of_intent_books_and_tape() -> None:
    books = [book(T0, bids=BIDS, asks=ASKS), book(DUE + 15 * MS, bids=BIDS, asks=ASKS),
             book(DUE + 35 * MS, bids=(("99", "0.5"), ("98", "4")), asks=ASKS),
             book(DUE + 90 * MS, bids=BIDS, asks=(("99", "1"),)),
             book(DUE + 200 * MS, bids=BIDS, asks=ASKS)]
    tape = [trade(DUE + 10 * MS, "99", "1", "SELL"), trade(DUE + 40 * MS, "99", "1", "SELL"),
            trade(DUE + 60 * MS, "98.5", "0.1", "SELL"), trade(DUE + 300 * MS, "99", "1", "BUY")]
    orders = [limit_intent(OrderSide.BUY, "99", "2", intent_id="a"),
              limit_intent(OrderSide.BUY, "98", "1", intent_id="b")]
    runs = []
    for first, second, third in permutations([books, tape, orders]):
        # each stream stays in its own order; streams take turns one event at a time
        merged: list[Event] = []
        for i in range(max(len(first), len(second), len(third))):
            merged += [s[i] for s in (first, second, third) if i < len(s)]
        out = feed(venue(), merged)
        runs.append(sorted((e.event_id, e.model_dump_json()) for e in out))
        last = out
    assert all(r == runs[0] for r in runs)
    # a: queue 3 -> 2 (trade) -> 0.5 (level shrank) -> fills 0.5, then 1.5 on a trade-through;
    # b at 98: never reached (the 98.5 print is above it, the book never crosses it)
    fills = of(last, OrderFilled)
    assert sorted((f.order_id, f.quantity, f.ts_event) for f in fills) == sorted([
        (order_id_for("a", "leg0"), D("0.5"), DUE + 40 * MS),
        (order_id_for("a", "leg0"), D("1.5"), DUE + 60 * MS)])
