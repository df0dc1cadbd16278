"""Settlement maths on hand-made price paths: every rule, exact amounts."""
from __future__ import annotations

from decimal import Decimal

import pytest

from libs.common.errors import InvalidOrder
from services.intake.adapters.pocketoption.settlement import (
    Direction,
    NoPriceAtOpen,
    OptionRequest,
    Outcome,
    PricePath,
    PricePoint,
    SettlementRules,
    SettlementUnavailable,
    open_option,
    outcome_of,
    pnl_of,
    settle,
    settle_option,
)

S = 1_000_000_000
D = Decimal


def path(*points: tuple[int, str]) -> PricePath:
    """Points as (seconds, price)."""
    return PricePath([PricePoint(t * S, D(p)) for t, p in points])


def request(direction: Direction = Direction.CALL, *, at: int = 10, expiry: int = 60,
            stake: str = "10", payout: str = "92") -> OptionRequest:
    return OptionRequest(option_id="o1", symbol="EURUSD", direction=direction, stake=D(stake),
                         payout_pct=D(payout), expiry_s=expiry, requested_ts_ns=at * S)


def test_price_in_force_is_the_last_point_at_or_before() -> None:
    p = path((10, "1.1"), (20, "1.2"), (20, "1.25"), (30, "1.3"))
    assert p.at(9 * S) is None
    assert p.at(10 * S) == PricePoint(10 * S, D("1.1"))
    assert p.at(19 * S) == PricePoint(10 * S, D("1.1"))
    assert p.at(20 * S) == PricePoint(20 * S, D("1.25"))  # the later of two equal times
    assert p.at(10**20) == PricePoint(30 * S, D("1.3"))
    assert (p.first_ts, p.last_ts, len(p)) == (10 * S, 30 * S, 4)


@pytest.mark.parametrize(("direction", "close", "outcome", "pnl", "returned"), [
    (Direction.CALL, "1.2", Outcome.WIN, "9.2", "19.2"),
    (Direction.CALL, "1.0", Outcome.LOSS, "-10", "0"),
    (Direction.CALL, "1.1", Outcome.TIE, "0", "10"),
    (Direction.PUT, "1.0", Outcome.WIN, "9.2", "19.2"),
    (Direction.PUT, "1.2", Outcome.LOSS, "-10", "0"),
    (Direction.PUT, "1.1", Outcome.TIE, "0", "10"),
])
def test_outcome_and_profit_follow_the_close_against_the_entry(
        direction: Direction, close: str, outcome: Outcome, pnl: str, returned: str) -> None:
    result = settle(path((0, "1.1"), (70, close)), request(direction))
    assert (result.opened.entry_price, result.close_price) == (D("1.1"), D(close))
    assert (result.outcome, result.pnl, result.returned) == (outcome, D(pnl), D(returned))


def test_entry_and_close_are_the_points_in_force_at_open_and_expiry() -> None:
    p = path((0, "1.10"), (9, "1.11"), (11, "1.12"), (69, "1.13"), (71, "1.09"))
    result = settle(p, request(Direction.CALL, at=10))
    assert (result.opened.open_ts_ns, result.opened.expiry_ts_ns) == (10 * S, 70 * S)
    assert (result.opened.entry_price, result.opened.entry_tick_ts_ns) == (D("1.11"), 9 * S)
    assert (result.close_price, result.close_tick_ts_ns) == (D("1.13"), 69 * S)
    assert result.outcome is Outcome.WIN


def test_a_point_exactly_at_the_expiry_closes_the_option() -> None:
    result = settle(path((0, "1.10"), (60, "1.05"), (61, "1.20")), request(at=0))
    assert (result.close_price, result.outcome) == (D("1.05"), Outcome.LOSS)


def test_latency_moves_the_entry_to_a_later_point() -> None:
    p = path((0, "1.10"), (10, "1.30"), (70, "1.20"), (80, "1.25"))
    fast = settle(p, request(at=9, expiry=60))
    slow = settle(p, request(at=9, expiry=60), SettlementRules(latency_ns=2 * S))
    assert (fast.opened.entry_price, fast.outcome) == (D("1.10"), Outcome.WIN)
    assert (slow.opened.open_ts_ns, slow.opened.expiry_ts_ns) == (11 * S, 71 * S)
    assert (slow.opened.entry_price, slow.outcome) == (D("1.30"), Outcome.LOSS)


def test_no_price_before_the_open_refuses_the_order() -> None:
    with pytest.raises(NoPriceAtOpen, match="no EURUSD price at or before 5000000000"):
        open_option(path((10, "1.1"), (80, "1.2")), request(at=5))


def test_stale_price_refuses_the_order_when_a_limit_is_set() -> None:
    p = path((0, "1.1"), (100, "1.2"))
    assert open_option(p, request(at=30)).entry_price == D("1.1")
    with pytest.raises(NoPriceAtOpen, match="30000000000 ns old"):
        open_option(p, request(at=30), SettlementRules(max_quote_age_ns=29 * S))


def test_path_ending_before_the_expiry_cannot_settle_and_ending_at_it_can() -> None:
    opened = open_option(path((0, "1.1"), (69, "1.2")), request(at=10))
    with pytest.raises(SettlementUnavailable, match="before the expiry 70000000000"):
        settle_option(path((0, "1.1"), (69, "1.2")), opened)
    assert settle_option(path((0, "1.1"), (70, "1.2")), opened).outcome is Outcome.WIN


def test_profit_is_exact_decimal_without_rounding() -> None:
    assert pnl_of(Outcome.WIN, D("1.37"), D("92")) == D("1.2604")
    assert pnl_of(Outcome.WIN, D("10"), D("0")) == D("0")
    assert pnl_of(Outcome.LOSS, D("1.37"), D("92")) == D("-1.37")
    assert pnl_of(Outcome.TIE, D("1.37"), D("92")) == D("0")


def test_outcome_of_is_strict() -> None:
    assert outcome_of(Direction.CALL, D("1.00000"), D("1.000001")) is Outcome.WIN
    assert outcome_of(Direction.PUT, D("1.00000"), D("1.000001")) is Outcome.LOSS
    assert outcome_of(Direction.PUT, D("1.0"), D("1.00")) is Outcome.TIE


@pytest.mark.parametrize(("kwargs", "why"), [
    ({"stake": "0"}, "stake 0 must be positive"),
    ({"stake": "-1"}, "stake -1 must be positive"),
    ({"payout": "-5"}, "payout -5% must be >= 0"),
    ({"expiry": 0}, "expiry 0 s must be positive"),
])
def test_bad_requests_are_invalid_orders(kwargs: dict[str, object], why: str) -> None:
    with pytest.raises(InvalidOrder, match=why):
        request(**kwargs)  # type: ignore[arg-type]


def test_path_must_go_forward_with_positive_prices() -> None:
    with pytest.raises(ValueError, match="goes back in time"):
        path((10, "1.1"), (5, "1.2"))
    with pytest.raises(ValueError, match="is not positive"):
        path((10, "0"))
    with pytest.raises(ValueError, match="latency_ns must be >= 0"):
        SettlementRules(latency_ns=-1)
