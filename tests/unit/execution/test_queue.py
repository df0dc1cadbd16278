"""Queue-position arithmetic of one resting limit order on hand-made books and tapes."""
from __future__ import annotations

from decimal import Decimal

from services.execution.domain.queue import UNKNOWN, RestingLimit, crosses, displayed_size
from tests.unit.execution.factories import lv

D = Decimal
BIDS = lv(("100", "2"), ("99", "3"), ("97", "4"))
ASKS = lv(("101", "1"), ("102", "5"), ("104", "2"))


def test_displayed_size_is_the_level_zero_inside_the_range_and_unknown_beyond() -> None:
    assert displayed_size(BIDS, D(99), is_bid=True) == D(3)
    assert displayed_size(BIDS, D(98), is_bid=True) == 0  # a gap inside the shown depth
    assert displayed_size(BIDS, D(96), is_bid=True) == UNKNOWN  # below the deepest bid shown
    assert displayed_size(ASKS, D(103), is_bid=False) == 0
    assert displayed_size(ASKS, D(105), is_bid=False) == UNKNOWN


def test_crossing_is_judged_on_the_opposite_best() -> None:
    assert crosses(True, D(101), BIDS, ASKS) and not crosses(True, D("100.9"), BIDS, ASKS)
    assert crosses(False, D(100), BIDS, ASKS) and not crosses(False, D("100.1"), BIDS, ASKS)


def test_joining_a_level_puts_its_displayed_size_ahead() -> None:
    order = RestingLimit.join(True, D(99), D(2), BIDS, ASKS)
    assert (order.queue_ahead, order.leaves) == (D(3), D(2))


def test_trades_at_the_price_eat_the_queue_ahead_before_filling() -> None:
    order = RestingLimit.join(True, D(99), D(2), BIDS, ASKS)
    assert order.on_trade(D(99), D("2.5"), "SELL") == 0
    assert order.queue_ahead == D("0.5")
    assert order.on_trade(D(99), D("1.5"), "SELL") == D(1)  # 0.5 ahead, then 1 of ours
    assert (order.queue_ahead, order.leaves) == (0, D(1))
    assert order.on_trade(D(99), D(4), "SELL") == D(1)  # never more than what is left
    assert order.done


def test_same_side_or_worse_priced_trades_do_not_touch_the_order() -> None:
    order = RestingLimit.join(True, D(99), D(2), BIDS, ASKS)
    assert order.on_trade(D(99), D(10), "BUY") == 0  # a buyer took asks: not our side
    assert order.on_trade(D(100), D(10), "SELL") == 0  # sold to better bids above ours
    assert (order.queue_ahead, order.leaves) == (D(3), D(2))


def test_a_trade_through_the_price_fills_the_whole_remainder() -> None:
    order = RestingLimit.join(False, D(102), D(3), BIDS, ASKS)
    assert order.queue_ahead == D(5)
    assert order.on_trade(D(103), D("0.1"), "BUY") == D(3)
    assert order.done


def test_a_crossing_book_fills_the_remainder_and_a_thinner_level_shrinks_the_queue() -> None:
    order = RestingLimit.join(True, D(99), D(2), BIDS, ASKS)
    thinner = lv(("100", "2"), ("99", "1"), ("97", "4"))
    assert order.on_book(thinner, ASKS) == 0 and order.queue_ahead == D(1)
    thicker = lv(("100", "2"), ("99", "9"), ("97", "4"))
    assert order.on_book(thicker, ASKS) == 0 and order.queue_ahead == D(1)  # never grows
    assert order.on_book(BIDS, lv(("99", "1"))) == D(2)
    assert order.done


def test_an_unknown_queue_waits_for_the_level_to_show_or_a_trade_through() -> None:
    order = RestingLimit.join(True, D(95), D(1), BIDS, ASKS)
    assert order.queue_ahead == UNKNOWN
    assert order.on_trade(D(95), D(100), "SELL") == 0
    assert order.on_book(lv(("96", "1"), ("95", "2")), ASKS) == 0
    assert order.queue_ahead == D(2)
    assert order.on_trade(D(95), D(3), "SELL") == D(1)
