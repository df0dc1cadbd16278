"""Limit fills checked against the recorded tape itself (BTCUSDT spot, 2024-08-08).

A schedule of passive limit orders (one every 5 s, alternately a bid at the best bid and an
ask at the best ask, 0.05 BTC, 10 s time in force) and market orders runs through the paper
venue on the recorded books and trades. Every maker fill must come no earlier than the first
tape trade that could have filled it (a trade at or through its price with the aggressor on
the other side, after the order reached the venue), and never for more than the tape traded
at or through its price by then. The run's fill count and average prices are reported.
"""
from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from libs.common.clock import TestClock
from libs.common.enums import OrderSide, OrderType
from libs.common.events import (
    Event,
    OrderBookUpdated,
    OrderClosed,
    OrderFilled,
    OrderSubmitted,
    TradeTick,
)
from services.execution.domain.paper import PaperConfig, PaperVenue
from services.intake.adapters.recorded import recorded_sources
from services.intake.domain.instruments import BINANCE_SPOT_BTCUSDT
from services.intake.domain.pipeline import IntakePipeline
from tests.unit.execution.factories import intent, leg, replay_finished

D = Decimal
S = 1_000_000_000
EVERY = 5 * S
QTY = "0.05"


def recorded_spot() -> Iterator[OrderBookUpdated | TradeTick]:
    clock = TestClock(1)
    pipeline = IntakePipeline(clock, (BINANCE_SPOT_BTCUSDT,))
    (source,) = recorded_sources(clock=clock, specs=(BINANCE_SPOT_BTCUSDT,)).values()
    for record in source:
        for out in pipeline.process(record):  # type: ignore[arg-type]
            if isinstance(out, OrderBookUpdated | TradeTick):
                yield out


def run_schedule() -> tuple[list[Event], list[TradeTick]]:
    venue = PaperVenue(TestClock(1), PaperConfig(limit_tif_ns=10 * S))
    out: list[Event] = []
    tape: list[TradeTick] = []
    next_at: int | None = None
    k = 0
    for evt in recorded_spot():
        if isinstance(evt, TradeTick):
            tape.append(evt)
            out += venue.on_trade(evt)
            continue
        out += venue.on_book(evt)
        if next_at is None:
            next_at = evt.ts_event + 5 * S
        if evt.ts_event >= next_at and evt.bids and evt.asks:
            buy = k % 2 == 0
            price = evt.bids[0][0] if buy else evt.asks[0][0]
            side = OrderSide.BUY if buy else OrderSide.SELL
            legs = [leg("passive", side=side, quantity=QTY, order_type=OrderType.LIMIT,
                        limit_price=price)]
            if k % 4 == 1:
                legs.append(leg("taker", side=side, quantity=QTY))
            out += venue.on_intent(intent(*legs, intent_id=f"tape-{k}", signal_ts=evt.ts_event))
            k += 1
            next_at += EVERY
    out += venue.on_replay_finished(replay_finished(), books=True, bars=False, trades=True)
    return out, tape


def could_fill(t: TradeTick, side: OrderSide, price: Decimal) -> bool:
    if side is OrderSide.BUY:
        return t.aggressor == "SELL" and t.price <= price
    return t.aggressor == "BUY" and t.price >= price


def test_recorded_limit_fills_never_precede_the_tape_that_could_fill_them() -> None:
    out, tape = run_schedule()
    submitted = {e.order_id: e for e in out if isinstance(e, OrderSubmitted)}
    limits = {i: s for i, s in submitted.items() if s.order_type is OrderType.LIMIT}
    maker = [f for f in out if isinstance(f, OrderFilled) and f.liquidity == "MAKER"]
    taker = [f for f in out if isinstance(f, OrderFilled) and f.liquidity == "TAKER"]
    closed = [c for c in out if isinstance(c, OrderClosed)]
    assert len(limits) >= 60  # about 6 minutes of data, one every 5 s
    assert maker, "the tape filled no resting order at all"
    filled_by_order: dict[str, Decimal] = {}
    for f in maker:
        sub = limits[f.order_id]
        assert sub.limit_price is not None and f.price == sub.limit_price
        eligible = [t for t in tape if sub.ts_event < t.ts_event <= f.ts_event
                    and could_fill(t, sub.side, sub.limit_price)]
        # a book crossing the order also fills it; the tape must still have printed there
        first = min((t.ts_event for t in tape if t.ts_event > sub.ts_event
                     and could_fill(t, sub.side, sub.limit_price)), default=None)
        assert first is not None and f.ts_event >= first, (f, first)
        filled_by_order[f.order_id] = filled_by_order.get(f.order_id, D(0)) + f.quantity
        if f.levels_taken == 0 and eligible:
            through = [t for t in eligible if t.price != sub.limit_price]
            if not through:  # at-price fills only: bounded by what printed at the price
                assert filled_by_order[f.order_id] <= sum(t.quantity for t in eligible)
    expired = [c for c in closed if c.order_id in limits]
    assert len({f.order_id for f in maker}) + len(expired) >= len(limits) - len(
        {f.order_id for f in taker if f.order_id in limits})
    avg = {side: (sum(f.price * f.quantity for f in maker if f.side is side)
                  / sum(f.quantity for f in maker if f.side is side))
           for side in (OrderSide.BUY, OrderSide.SELL)
           if any(f.side is side for f in maker)}
    print(f"\nlimit orders {len(limits)}, maker fills {len(maker)} on "
          f"{len(filled_by_order)} orders, expired {len(expired)}, taker fills {len(taker)}; "
          f"avg maker price {avg}")
