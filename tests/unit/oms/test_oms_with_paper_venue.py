"""The two domains together: paper venue reports feed the OMS, as the services do."""
from __future__ import annotations

from decimal import Decimal

from libs.common.clock import TestClock
from libs.common.enums import Engine, OrderSide, OrderStatus
from libs.common.events import Event, OrderClosed, OrderFilled, OrderSubmitted, TradeClosed
from services.execution.domain.paper import PaperVenue
from services.oms.domain.oms import Oms
from tests.unit.execution.factories import (
    COINM,
    MS,
    T0,
    USDM,
    bar,
    book,
    fx_intent,
    intent,
    leg,
    replay_finished,
)

D = Decimal


def to_oms(oms: Oms, reports: list[Event]) -> list[Event]:
    out: list[Event] = []
    for r in reports:
        assert isinstance(r, OrderSubmitted | OrderFilled | OrderClosed)
        result = oms.on_report(r)
        assert result.ok, result.error
        out += result.events
    return out


def trades(events: list[Event]) -> list[TradeClosed]:
    return [e for e in events if isinstance(e, TradeClosed)]


def test_cross_venue_arbitrage_realizes_the_spread_minus_both_taker_fees() -> None:
    venue, oms = PaperVenue(TestClock(T0)), Oms(TestClock(T0))
    arb = intent(leg("leg0", quantity="0.01"),
                 leg("leg1", instrument_id=USDM, side=OrderSide.SELL, quantity="0.01"))
    oms.on_intent(arb)
    reports = venue.on_intent(arb)
    for ts in (T0, T0 + 60 * MS):
        reports += venue.on_book(book(ts, asks=[("50000", "1")], bids=[("49990", "1")]))
        reports += venue.on_book(book(ts, instrument_id=USDM, asks=[("50110", "1")],
                                      bids=[("50100", "1")]))
    (trade,) = trades(to_oms(oms, reports))
    assert trade.gross_pnl == D("1.00")
    assert trade.fees == D("0.7505")  # 0.001 x 500 + 0.0005 x 501
    assert trade.realized_pnl == D("0.2495")
    assert trade.policy_version == 3
    assert oms.totals()[Engine.ARBITRAGE].trades == 1


def test_spot_against_inverse_needs_dust_to_close_its_trade() -> None:
    # 5.0005 contracts were sized for 0.01 BTC at 50005; the bid is 50010 at the due time.
    arb = intent(leg("leg0", quantity="0.01"),
                 leg("leg1", instrument_id=COINM, side=OrderSide.SELL, quantity="5.0005",
                     base_quantity="0.01"))
    data = [book(T0, asks=[("50000", "1")]), book(T0 + 60 * MS, asks=[("50000", "1")]),
            book(T0, instrument_id=COINM, bids=[("50010", "9")]),
            book(T0 + 60 * MS, instrument_id=COINM, bids=[("50010", "9")])]
    results = {}
    for dust in (D(0), D("0.00001")):
        venue, oms = PaperVenue(TestClock(T0)), Oms(TestClock(T0), {Engine.ARBITRAGE: dust})
        oms.on_intent(arb)
        reports = venue.on_intent(arb)
        for b in data:
            reports += venue.on_book(b)
        results[dust] = trades(to_oms(oms, reports))
    assert results[D(0)] == []  # 500.05 / 50010 BTC sold: 0.0000010 BTC stays long
    (trade,) = results[D("0.00001")]
    # the residual is booked at the fill price: as if 0.01 BTC had been sold at 50010
    assert abs(trade.gross_pnl - D("0.1")) < D("1e-20")


def test_forex_bracket_take_profit_closes_the_trade_at_the_level() -> None:
    venue, oms = PaperVenue(TestClock(T0)), Oms(TestClock(T0))
    fx = fx_intent()
    oms.on_intent(fx)
    reports = venue.on_intent(fx)
    reports += venue.on_bar(bar(1, "1.5750", "1.5760", "1.5740", "1.5755"))
    reports += venue.on_bar(bar(2, "1.5755", "1.5805", "1.5750", "1.5790"))
    reports += venue.on_replay_finished(replay_finished())
    (trade,) = trades(to_oms(oms, reports))
    assert (trade.entry_price, trade.exit_price) == (D("1.5752"), D("1.5800"))
    assert trade.realized_pnl == D("48.0000")  # (1.5800 - 1.5752) x 10000, no fee
    assert oms.orders_by_status()[OrderStatus.FILLED] == 2
    assert oms.open_positions() == []


def test_expired_forex_entry_leaves_no_position() -> None:
    venue, oms = PaperVenue(TestClock(T0)), Oms(TestClock(T0))
    reports = venue.on_intent(fx_intent())
    reports += venue.on_replay_finished(replay_finished())
    assert to_oms(oms, reports) == []
    assert oms.orders_by_status()[OrderStatus.EXPIRED] == 1
    assert oms.open_positions() == []
