"""Half-filled two-leg arbitrage: each imbalance policy, its follow-up orders and their cost."""
from __future__ import annotations

from decimal import Decimal
from itertools import permutations
from typing import Any

from libs.common.clock import TestClock
from libs.common.enums import OrderSide, OrderStatus, OrderType
from libs.common.events import (
    Event,
    OrderBookUpdated,
    OrderClosed,
    OrderFilled,
    OrderIntentApproved,
    OrderSubmitted,
    TradeTick,
)
from services.execution.domain.paper import PaperConfig, PaperVenue, order_id_for
from services.execution.domain.unwind import (
    ImbalanceConfig,
    ImbalancePolicy,
    balanced,
    excess,
    shortfall,
)
from tests.unit.execution.factories import MS, T0, USDM, book, intent, leg, trade

D = Decimal
SECOND = 1_000 * MS
DUE = T0 + 50 * MS
SPOT_LEG = order_id_for("int-1", "leg0")
USDM_LEG = order_id_for("int-1", "leg1")


def venue(policy: ImbalancePolicy, **kw: Any) -> PaperVenue:
    return PaperVenue(TestClock(T0), PaperConfig(imbalance=ImbalanceConfig(policy=policy, **kw)))


def arb(spot_leg: Any = None) -> OrderIntentApproved:
    """Buy 2 BTC spot, sell 2 BTC perp: the spot book shows only 1 at the due time."""
    return intent(spot_leg or leg("leg0", side=OrderSide.BUY, quantity="2"),
                  leg("leg1", instrument_id=USDM, side=OrderSide.SELL, quantity="2"))


def markets(*spot_later: OrderBookUpdated) -> list[Event]:
    return [book(T0, bids=(("100", "5"),), asks=(("101", "1"),)),
            book(T0, instrument_id=USDM, bids=(("105", "5"),), asks=(("106", "5"),)),
            *spot_later,
            book(T0 + 10 * SECOND, bids=(("100", "5"),), asks=(("101", "5"),)),
            book(T0 + 10 * SECOND, instrument_id=USDM, bids=(("105", "5"),),
                 asks=(("106", "5"),))]


def feed(v: PaperVenue, events: list[Event]) -> list[Event]:
    out: list[Event] = []
    for e in events:
        if isinstance(e, OrderIntentApproved):
            out += v.on_intent(e)
        elif isinstance(e, TradeTick):
            out += v.on_trade(e)
        else:
            assert isinstance(e, OrderBookUpdated)
            out += v.on_book(e)
    return out


def follow_ups(out: list[Event]) -> list[tuple[str, str | None, OrderSide, Decimal, int]]:
    return [(s.order_id, s.parent_order_id, s.side, s.quantity, s.ts_event)
            for s in out if isinstance(s, OrderSubmitted) and s.parent_order_id]


def filled(out: list[Event], order_id: str) -> Decimal:
    return sum((f.quantity for f in out if isinstance(f, OrderFilled)
                and f.order_id == order_id), D(0))


def test_imbalance_arithmetic_names_excess_and_shortfall_per_leg() -> None:
    nets, sizes = [D(1), D(2)], [D(2), D(2)]
    assert not balanced(nets, sizes) and balanced([D(1), D(1)], sizes)
    assert excess(nets, sizes) == [D(0), D(1)]
    assert shortfall(nets, sizes) == [D(1), D(0)]
    assert excess([D("0.5"), D(3)], [D(1), D(4)]) == [D(0), D(1)]  # 50 % vs 75 % of size


def test_unwind_at_market_closes_the_filled_excess_where_it_filled_and_costs_it() -> None:
    v = venue(ImbalancePolicy.UNWIND_AT_MARKET)
    out = feed(v, [arb(), *markets()])
    unwind_id = order_id_for("int-1", "leg1/unwind0")
    assert follow_ups(out) == [(unwind_id, USDM_LEG, OrderSide.BUY, D(1), DUE + 50 * MS)]
    (fill,) = [f for f in out if isinstance(f, OrderFilled) and f.order_id == unwind_id]
    assert (fill.price, fill.quantity, fill.status) == (D(106), D(1), OrderStatus.FILLED)
    # sold 1 at 105, bought it back at 106; taker fees 0.05 % on both sides of that 1
    assert v.unwind_cost == D(1) + D("0.0005") * 106 + D("0.0005") * 105
    assert (v.unwinds, v.unbalanced) == (1, 0)
    assert filled(out, SPOT_LEG) == D(1) and filled(out, USDM_LEG) - filled(out, unwind_id) == 1


def test_hedge_takes_the_missing_quantity_on_the_other_venue() -> None:
    v = venue(ImbalancePolicy.HEDGE)
    out = feed(v, [arb(), *markets(book(T0 + 60 * MS, bids=(("100", "5"),),
                                        asks=(("101.5", "5"),)))])
    hedge_id = order_id_for("int-1", "leg0/hedge0")
    assert follow_ups(out) == [(hedge_id, SPOT_LEG, OrderSide.BUY, D(1), DUE + 50 * MS)]
    assert filled(out, hedge_id) == D(1)
    assert [f.price for f in out if isinstance(f, OrderFilled) and f.order_id == hedge_id] == [
        D("101.5")]
    assert (v.unwinds, v.unwind_cost) == (0, 0)


def test_a_hedge_that_finds_no_depth_is_unwound() -> None:
    v = venue(ImbalancePolicy.HEDGE)
    out = feed(v, [arb(), *markets(book(T0 + 60 * MS, bids=(("100", "5"),), asks=()))])
    hedge_id, unwind_id = (order_id_for("int-1", "leg0/hedge0"),
                           order_id_for("int-1", "leg1/unwind0"))
    assert [f[0] for f in follow_ups(out)] == [hedge_id, unwind_id]
    (closed,) = [c for c in out if isinstance(c, OrderClosed) and c.order_id == hedge_id]
    assert closed.status is OrderStatus.CANCELLED
    assert follow_ups(out)[1][2:] == (OrderSide.BUY, D(1), DUE + 100 * MS)
    assert filled(out, unwind_id) == D(1)


def test_retry_until_repeats_the_missing_leg_until_the_book_has_it() -> None:
    v = venue(ImbalancePolicy.RETRY_UNTIL, retry_interval_ns=SECOND, retry_window_ns=3 * SECOND)
    out = feed(v, [arb(), *markets(book(T0 + 60 * MS, bids=(("100", "5"),), asks=()),
                                   book(T0 + 2 * SECOND, bids=(("100", "5"),),
                                        asks=(("102", "5"),)))])
    ids = [order_id_for("int-1", f"leg0/retry{k}") for k in range(3)]
    assert follow_ups(out) == [
        (ids[0], SPOT_LEG, OrderSide.BUY, D(1), DUE + 50 * MS),
        (ids[1], SPOT_LEG, OrderSide.BUY, D(1), DUE + SECOND + 50 * MS),
        (ids[2], SPOT_LEG, OrderSide.BUY, D(1), DUE + 2 * SECOND + 50 * MS)]
    assert [filled(out, i) for i in ids] == [0, 0, D(1)]
    assert v.unwinds == 0


def test_retry_until_unwinds_once_the_deadline_passed() -> None:
    v = venue(ImbalancePolicy.RETRY_UNTIL, retry_interval_ns=SECOND,
              retry_window_ns=3 * SECOND // 2)
    out = feed(v, [arb(), *markets(book(T0 + 60 * MS, bids=(("100", "5"),), asks=()))])
    assert [f[0] for f in follow_ups(out)] == [
        order_id_for("int-1", "leg0/retry0"), order_id_for("int-1", "leg0/retry1"),
        order_id_for("int-1", "leg1/unwind0")]
    assert follow_ups(out)[-1][2:] == (OrderSide.BUY, D(1), DUE + SECOND + 100 * MS)
    assert v.unwinds == 1


def test_a_limit_leg_partly_filled_by_the_tape_gets_the_other_leg_unwound_at_expiry() -> None:
    v = PaperVenue(TestClock(T0), PaperConfig(limit_tif_ns=SECOND))
    limit_leg = leg("leg0", side=OrderSide.BUY, quantity="2", order_type=OrderType.LIMIT,
                    limit_price=D(100))
    out = feed(v, [arb(limit_leg), *markets()[:2],
                   trade(DUE + 10 * MS, "100", "5.5", "SELL"),  # 5 ahead, 0.5 ours
                   trade(T0 + 2 * SECOND, "100", "1", "BUY"),
                   trade(T0 + 2 * SECOND, "100", "1", "BUY", instrument_id=USDM),
                   *markets()[2:]])
    unwind_id = order_id_for("int-1", "leg1/unwind0")
    assert filled(out, SPOT_LEG) == D("0.5")
    assert follow_ups(out) == [(unwind_id, USDM_LEG, OrderSide.BUY, D("1.5"),
                                DUE + SECOND + 50 * MS)]
    assert filled(out, unwind_id) == D("1.5")


def test_follow_ups_are_the_same_whatever_the_interleaving() -> None:
    streams = [[arb()], markets(book(T0 + 60 * MS, bids=(("100", "5"),), asks=()))]
    runs = []
    for a, b in permutations(streams):
        v = venue(ImbalancePolicy.HEDGE)
        runs.append(sorted(e.model_dump_json() for e in feed(v, a + b)))
    assert runs[0] == runs[1]
