"""Average-cost positions: exact Decimal answers for open, add, reduce, close and flip."""
from __future__ import annotations

from decimal import Decimal

import pytest

from libs.common.enums import Engine
from services.oms.domain.positions import ClosedTrade, Position

D = Decimal


def pos(dust: str = "0") -> Position:
    return Position("K", Engine.ARBITRAGE, "s", D(dust))


def fill(p: Position, qty: str, price: str, fee: str = "0", ts: int = 0, fid: str = "f",
         intent: str = "i1", opp: str | None = "o1") -> ClosedTrade | None:
    return p.apply_fill(D(qty), D(price), D(fee), ts, fid, intent, opp)


def test_opening_fill_sets_quantity_and_average_and_charges_the_fee() -> None:
    p = pos()
    assert fill(p, "2", "100", fee="0.2") is None
    assert (p.quantity, p.avg_price, p.fees, p.realized_pnl) == (D(2), D(100), D("0.2"),
                                                                 D("-0.2"))


def test_adding_moves_the_average_price() -> None:
    p = pos()
    fill(p, "2", "100")
    fill(p, "1", "103")
    assert (p.quantity, p.avg_price) == (D(3), D(101))


def test_reducing_realizes_against_the_average_and_keeps_it() -> None:
    p = pos()
    fill(p, "2", "100")
    fill(p, "1", "103")
    assert fill(p, "-1", "105", fee="0.1") is None
    assert (p.quantity, p.avg_price) == (D(2), D(101))
    assert p.gross_realized == D(4)  # (105 - 101) x 1
    assert p.realized_pnl == D("3.9")


def test_closing_to_flat_returns_the_trade_with_vwaps_and_pnl() -> None:
    p = pos()
    fill(p, "2", "100", fee="0.2", ts=10, fid="f1", intent="i1", opp="o1")
    fill(p, "1", "103", fee="0.1", ts=20, fid="f2", intent="i2", opp="o2")
    fill(p, "-1", "105", fee="0.1", ts=30, fid="f3", intent="i1", opp="o1")
    trade = fill(p, "-2", "102", fee="0.2", ts=40, fid="f4", intent="i3", opp=None)
    assert trade is not None
    assert (trade.entry_price, trade.exit_price) == (D(101), D(103))  # 303/3, 309/3
    assert trade.gross_pnl == D(6)  # 4 + 2 x (102 - 101)
    assert trade.fees == D("0.6")
    assert trade.realized_pnl == D("5.4")
    assert trade.quantity == D(3)
    assert (trade.opened_ts, trade.closed_ts) == (10, 40)
    assert (trade.opening_fill_id, trade.closing_fill_id, trade.opening_intent_id) == (
        "f1", "f4", "i1")
    assert trade.intent_ids == ("i1", "i2", "i3")
    assert trade.opportunity_ids == ("o1", "o2")
    assert (p.quantity, p.avg_price, p.unrealized_pnl) == (0, 0, 0)
    assert p.realized_pnl == D("5.4")
    assert p.trades_closed == 1


def test_short_round_trip_profits_when_the_price_falls() -> None:
    p = pos()
    fill(p, "-1.5", "100")
    assert p.avg_price == D(100) and p.quantity == D("-1.5")
    trade = fill(p, "1.5", "90")
    assert trade is not None
    assert trade.gross_pnl == D(15)
    assert (trade.entry_price, trade.exit_price) == (D(100), D(90))


def test_fill_through_zero_closes_the_trade_then_opens_the_remainder() -> None:
    p = pos()
    fill(p, "1", "100", fee="0.1", fid="f1")
    trade = fill(p, "-3", "110", fee="0.3", fid="f2", ts=5)
    assert trade is not None
    assert trade.gross_pnl == D(10)
    assert trade.fees == D("0.2")  # 0.1 to open + 1/3 of 0.3 to close
    assert trade.quantity == D(1)
    assert (p.quantity, p.avg_price) == (D(-2), D(110))
    assert p.fees == D("0.4")
    assert p.realized_pnl == D("9.6")
    closing = fill(p, "2", "105", fee="0", fid="f3", ts=9)
    assert closing is not None
    assert (closing.opening_fill_id, closing.opened_ts) == ("f2", 5)
    assert closing.fees == D("0.2")  # the other 2/3 of f2's fee
    assert closing.gross_pnl == D(10)  # short 2 from 110 to 105


def test_unrealized_is_mark_minus_average_times_signed_quantity() -> None:
    long, short = pos(), pos()
    fill(long, "2", "100")
    long.mark(D(103))
    fill(short, "-2", "110")
    short.mark(D(100))
    assert (long.unrealized_pnl, short.unrealized_pnl) == (D(6), D(20))


def test_unmarked_position_has_no_unrealized() -> None:
    p = pos()
    fill(p, "1", "100")
    assert p.unrealized_pnl == 0


def test_average_of_three_fills_closes_to_the_exact_notional_difference() -> None:
    p = pos()
    for price in ("100", "100", "101"):  # average 100.333... does not terminate
        fill(p, "1", price)
    fill(p, "-1", "102")
    trade = fill(p, "-2", "102")
    assert trade is not None
    assert trade.gross_pnl == D(306) - D(301)


def test_residual_within_dust_closes_the_trade_at_the_fill_price() -> None:
    # spot buy 0.01 BTC vs inverse sell: 6 contracts x 100 / 60001 = 0.0099998... BTC
    inverse_base = D(600) / D(60001)
    strict, tolerant = pos(), pos(dust="0.00001")
    for p in (strict, tolerant):
        fill(p, "0.01", "60000")
    assert strict.apply_fill(-inverse_base, D(60001), D(0), 1, "f2", "i1") is None
    assert strict.is_open  # never exactly flat
    trade = tolerant.apply_fill(-inverse_base, D(60001), D(0), 1, "f2", "i1")
    assert trade is not None and not tolerant.is_open
    # (60001 - 60000) x 0.01, up to the 28-digit rounding of 600 / 60001
    assert abs(trade.gross_pnl - D("0.01")) < D("1e-20")
    assert abs(trade.exit_price - D(60001)) < D("1e-20")


def test_partial_exit_beyond_dust_keeps_the_position_open() -> None:
    p = pos(dust="0.00001")
    fill(p, "0.01", "60000")
    assert fill(p, "-0.005", "60010") is None
    assert p.quantity == D("0.005")


def test_zero_quantity_fill_is_refused() -> None:
    with pytest.raises(ValueError):
        fill(pos(), "0", "100")
