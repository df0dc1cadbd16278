"""Paper forex: entry at the next bar's open, bracket exits on bid/ask bars, expiry."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from libs.common.clock import TestClock
from libs.common.enums import OrderSide, OrderStatus, OrderType
from libs.common.events import BarClosed, Event, OrderClosed, OrderFilled, OrderSubmitted
from libs.common.identifiers import derived_id
from services.execution.domain.paper import PaperConfig, PaperVenue
from tests.unit.execution.factories import (
    GBPUSD,
    MINUTE,
    T0,
    bar,
    book,
    fx_intent,
    replay_finished,
)

D = Decimal
ENTRY = derived_id("ord", "int-fx-1", "entry")
EXIT = derived_id("ord", "int-fx-1", "entry", "exit")

# Bid OHLC; ask = bid + 0.0002. Long bracket: TP 1.5800, SL 1.5700.
QUIET = ("1.5750", "1.5760", "1.5740", "1.5755")
SIGNAL_BAR = bar(0, "1.5740", "1.5760", "1.5730", "1.5750")  # closes at T0 + 1 min = signal_ts


def venue(**config: Any) -> PaperVenue:
    return PaperVenue(TestClock(T0), PaperConfig(**config))


def entered(side: OrderSide = OrderSide.BUY, **config: Any) -> PaperVenue:
    """A venue with the intent's entry filled at bar 1's open and no exit yet."""
    v = venue(**config)
    v.on_bar(SIGNAL_BAR)
    v.on_intent(fx_intent(side=side) if side is OrderSide.BUY else
                fx_intent(side=side, take_profit="1.5700", stop_loss="1.5800"))
    v.on_bar(bar(1, *QUIET))
    assert v.open_brackets == 1
    return v


def exit_of(events: list[Event]) -> tuple[OrderSubmitted, OrderFilled]:
    sub, fill = events
    assert isinstance(sub, OrderSubmitted) and isinstance(fill, OrderFilled)
    return sub, fill


def test_long_entry_fills_at_the_ask_open_of_the_first_bar_after_the_signal() -> None:
    v = venue()
    v.on_bar(SIGNAL_BAR)
    (sub,) = v.on_intent(fx_intent())  # the signal bar itself is never traded
    assert isinstance(sub, OrderSubmitted) and sub.order_id == ENTRY
    b1 = bar(1, *QUIET)
    (fill,) = v.on_bar(b1)
    assert isinstance(fill, OrderFilled)
    assert fill.price == D("1.5752")  # ask open
    assert (fill.quantity, fill.base_quantity, fill.fee) == (D(10000), D(10000), D(0))
    assert (fill.ts_event, fill.book_ts) == (b1.ts_open, b1.ts_event)
    assert fill.status is OrderStatus.FILLED


def test_short_entry_fills_at_the_bid_open() -> None:
    v = venue()
    v.on_intent(fx_intent(side=OrderSide.SELL, take_profit="1.57", stop_loss="1.58"))
    (fill,) = v.on_bar(bar(1, *QUIET))
    assert isinstance(fill, OrderFilled) and fill.price == D("1.5750")


def test_fee_rate_applies_to_the_quote_notional() -> None:
    v = venue(taker_fees={"FXCM": D("0.00002")})
    v.on_intent(fx_intent())
    (fill,) = v.on_bar(bar(1, *QUIET))
    assert isinstance(fill, OrderFilled) and fill.fee == D("0.00002") * D("1.5752") * 10000


def test_take_profit_hit_exits_with_a_limit_order_at_the_level() -> None:
    v = entered()
    b2 = bar(2, "1.5755", "1.5805", "1.5750", "1.5790")
    sub, fill = exit_of(v.on_bar(b2))
    assert (sub.order_id, sub.parent_order_id) == (EXIT, ENTRY)
    assert (sub.order_type, sub.limit_price, sub.stop_price) == (OrderType.LIMIT, D("1.58"), None)
    assert (sub.side, sub.quantity) == (OrderSide.SELL, D(10000))
    assert (fill.order_id, fill.price, fill.side) == (EXIT, D("1.5800"), OrderSide.SELL)
    assert fill.ts_event == sub.ts_event == b2.ts_event
    assert fill.causation_id == sub.event_id
    assert v.open_brackets == 0
    assert v.on_bar(bar(3, "1.5900", "1.5900", "1.5600", "1.5600")) == []


def test_stop_loss_hit_exits_with_a_stop_order_at_the_level() -> None:
    v = entered()
    sub, fill = exit_of(v.on_bar(bar(2, "1.5755", "1.5760", "1.5695", "1.5710")))
    assert (sub.order_type, sub.stop_price, sub.limit_price) == (OrderType.STOP, D("1.57"), None)
    assert fill.price == D("1.5700")


def test_both_levels_inside_one_bar_count_as_the_stop_loss() -> None:
    v = entered()
    sub, fill = exit_of(v.on_bar(bar(2, "1.5755", "1.5810", "1.5690", "1.5750")))
    assert sub.order_type is OrderType.STOP
    assert fill.price == D("1.5700")


@pytest.mark.parametrize(("open_", "order_type"), [("1.5690", OrderType.STOP),
                                                   ("1.5820", OrderType.LIMIT)])
def test_gap_through_a_level_fills_at_the_bar_open(open_: str, order_type: OrderType) -> None:
    v = entered()
    b2 = bar(2, open_, "1.5830", "1.5680", "1.5750")
    sub, fill = exit_of(v.on_bar(b2))
    assert sub.order_type is order_type
    assert (fill.price, fill.ts_event) == (D(open_), b2.ts_open)


def test_short_bracket_is_tested_on_ask_prices() -> None:
    v = entered(OrderSide.SELL)
    # bid high 1.5799 stays below SL 1.58, but the ask (bid + 0.0002) reaches it
    sub, fill = exit_of(v.on_bar(bar(2, "1.5755", "1.5799", "1.5740", "1.5760")))
    assert (sub.side, sub.order_type, fill.price) == (OrderSide.BUY, OrderType.STOP, D("1.58"))


def test_stop_touched_in_the_entry_bar_exits_in_that_bar_when_configured() -> None:
    v = venue(exit_on_entry_bar=True)
    v.on_intent(fx_intent())
    entry, *exit_ = v.on_bar(bar(1, "1.5750", "1.5760", "1.5695", "1.5720"))
    sub, fill = exit_of(exit_)
    assert isinstance(entry, OrderFilled) and entry.order_id == ENTRY
    assert (sub.order_type, fill.price) == (OrderType.STOP, D("1.57"))


def test_bracket_is_tested_from_the_bar_after_the_entry_by_default() -> None:
    v = venue()
    v.on_intent(fx_intent())
    assert len(v.on_bar(bar(1, "1.5750", "1.5760", "1.5695", "1.5720"))) == 1  # entry only
    assert v.open_brackets == 1
    _, fill = exit_of(v.on_bar(bar(2, "1.5720", "1.5730", "1.5690", "1.5700")))
    assert fill.price == D("1.5700")


def test_intent_handled_late_gives_the_same_reports_as_one_handled_early() -> None:
    bars = [SIGNAL_BAR, bar(1, *QUIET), bar(2, *QUIET), bar(3, "1.5755", "1.5810", "1.5750",
                                                          "1.5800"), bar(4, *QUIET)]
    fx = fx_intent()
    runs = []
    for at in range(len(bars) + 1):
        v = venue()
        out: list[Event] = []
        for b in bars[:at]:
            out += v.on_bar(b)
        out += v.on_intent(fx)
        for b in bars[at:]:
            out += v.on_bar(b)
        runs.append(out)
    assert all(r == runs[0] for r in runs[1:])
    assert [type(e).__name__ for e in runs[0]] == [
        "OrderSubmitted", "OrderFilled", "OrderSubmitted", "OrderFilled"]
    exit_fill = runs[0][3]
    assert isinstance(exit_fill, OrderFilled) and exit_fill.price == D("1.5800")


def test_entry_that_never_gets_a_bar_expires_at_replay_end() -> None:
    v = venue()
    v.on_bar(SIGNAL_BAR)
    v.on_intent(fx_intent())
    (closed,) = v.on_replay_finished(replay_finished(T0 + 999 * MINUTE))
    assert isinstance(closed, OrderClosed)
    assert (closed.order_id, closed.status) == (ENTRY, OrderStatus.EXPIRED)
    assert closed.reason == (f"no bar for {GBPUSD} opened at or after {T0 + MINUTE} "
                             "before replay end")
    assert closed.ts_event == T0 + MINUTE  # market time, not the marker's wall-clock time
    assert v.pending_orders == 0


def test_end_of_the_book_replay_does_not_expire_entries_waiting_for_bars() -> None:
    v = venue()
    v.on_intent(fx_intent())
    assert v.on_replay_finished(replay_finished(), books=True, bars=False) == []
    (fill,) = v.on_bar(bar(1, *QUIET))
    assert isinstance(fill, OrderFilled)


def test_open_bracket_stays_open_at_replay_end() -> None:
    v = entered()
    assert v.on_replay_finished(replay_finished()) == []
    assert v.open_brackets == 1


def test_redelivered_bar_is_not_tested_twice() -> None:
    v = entered()
    b2 = bar(2, "1.5755", "1.5760", "1.5695", "1.5710")
    assert len(v.on_bar(b2)) == 2
    assert v.on_bar(b2) == []


def test_bracket_on_a_book_venue_is_rejected() -> None:
    v = venue()
    v.on_book(book(T0))
    intent = fx_intent()
    legs = (intent.legs[0].model_copy(update={"instrument_id": "BTC/USDT.BINANCE"}),)
    (closed,) = v.on_intent(intent.model_copy(update={"legs": legs}))
    assert isinstance(closed, OrderClosed)
    assert (closed.status, closed.reason) == (OrderStatus.REJECTED,
                                              "brackets need a bar venue; BINANCE fills from books")


def test_bar_for_another_pair_does_not_fill_the_entry() -> None:
    v = venue()
    v.on_intent(fx_intent())
    other: BarClosed = bar(1, *QUIET, instrument_id="EUR/USD.FXCM")
    assert v.on_bar(other) == []
    assert v.pending_orders == 1


def test_forex_intent_older_than_the_bar_history_enters_at_the_oldest_bar_kept() -> None:
    v = venue(bar_history=2)
    for k in range(5):
        v.on_bar(bar(k, *QUIET))
    (_, fill) = v.on_intent(fx_intent())  # bar 1 (its true entry bar) is gone; 3 and 4 kept
    assert isinstance(fill, OrderFilled)
    assert fill.ts_event == T0 + 3 * MINUTE
    assert v.late_fills == 1
