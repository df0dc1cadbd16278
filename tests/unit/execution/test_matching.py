from __future__ import annotations

from decimal import Decimal

import pytest

from libs.common.enums import InstrumentKind
from services.execution.domain.matching import ExitKind, bracket_exit, walk_book
from tests.unit.execution.factories import MINUTE, T0, bar, lv

D = Decimal
ASKS = lv(("100", "1"), ("101", "2"), ("103", "4"))


def test_walk_takes_levels_best_first_and_prices_at_vwap() -> None:
    walk = walk_book(ASKS, D("2"), InstrumentKind.SPOT)
    assert (walk.quantity, walk.base_quantity, walk.notional) == (D("2"), D("2"), D("201"))
    assert walk.price == D("100.5")
    assert walk.levels_taken == 2


def test_walk_that_ends_exactly_on_a_level_does_not_touch_the_next() -> None:
    walk = walk_book(ASKS, D("3"), InstrumentKind.LINEAR)
    assert walk.levels_taken == 2
    assert walk.notional == D("302")


def test_walk_stops_at_the_depth_available() -> None:
    walk = walk_book(ASKS, D("10"), InstrumentKind.SPOT)
    assert walk.quantity == D("7")
    assert walk.notional == D("100") + D("202") + D("412")
    assert walk.levels_taken == 3


def test_walk_on_an_empty_side_fills_nothing() -> None:
    walk = walk_book((), D("1"), InstrumentKind.SPOT)
    assert (walk.quantity, walk.base_quantity, walk.price, walk.levels_taken) == (0, 0, 0, 0)


def test_walk_skips_empty_levels() -> None:
    walk = walk_book(lv(("100", "0"), ("101", "1")), D("1"), InstrumentKind.SPOT)
    assert walk.price == D("101")
    assert walk.levels_taken == 1


def test_inverse_walk_converts_contracts_to_base_at_each_level_price() -> None:
    # 3 contracts x 100 USD at 60000 = 0.005 BTC; 2 x 100 at 40000 = 0.005 BTC.
    bids = lv(("60000", "3"), ("40000", "2"))
    walk = walk_book(bids, D("5"), InstrumentKind.INVERSE, D("100"))
    assert walk.quantity == D("5")
    assert walk.base_quantity == D("0.01")
    assert walk.notional == D("500")
    assert walk.price == D("50000")  # base-weighted, not the contract-weighted 52000


def test_inverse_walk_needs_a_contract_size() -> None:
    with pytest.raises(ValueError):
        walk_book(lv(("60000", "1")), D("1"), InstrumentKind.INVERSE)


TP, SL = D("1.5800"), D("1.5700")


@pytest.mark.parametrize(("ohlc", "kind", "price", "gap"), [
    (("1.5750", "1.5810", "1.5740", "1.5800"), ExitKind.TAKE_PROFIT, "1.5800", False),
    (("1.5750", "1.5760", "1.5690", "1.5700"), ExitKind.STOP_LOSS, "1.5700", False),
    (("1.5750", "1.5810", "1.5690", "1.5750"), ExitKind.STOP_LOSS, "1.5700", False),
    (("1.5820", "1.5830", "1.5690", "1.5800"), ExitKind.TAKE_PROFIT, "1.5820", True),
    (("1.5680", "1.5810", "1.5670", "1.5750"), ExitKind.STOP_LOSS, "1.5680", True),
])
def test_long_bracket_exits_on_bid_prices(ohlc: tuple[str, str, str, str], kind: ExitKind,
                                          price: str, gap: bool) -> None:
    b = bar(3, *ohlc)
    hit = bracket_exit(True, TP, SL, b)
    assert hit is not None
    assert (hit.kind, hit.price, hit.gap) == (kind, D(price), gap)
    assert hit.ts == (b.ts_open if gap else b.ts_event)


def test_long_bracket_ignores_ask_prices_that_touch_the_take_profit() -> None:
    # bid high 1.5799 misses TP; the ask (bid + 0.0002) would have reached it.
    assert bracket_exit(True, TP, SL, bar(3, "1.5750", "1.5799", "1.5701", "1.5760")) is None


@pytest.mark.parametrize(("bid_ohlc", "kind", "price", "gap"), [
    # short: TP 1.5700, SL 1.5800, tested on ask = bid + 0.0002
    (("1.5748", "1.5758", "1.5697", "1.5700"), ExitKind.TAKE_PROFIT, "1.5700", False),
    (("1.5748", "1.5798", "1.5740", "1.5790"), ExitKind.STOP_LOSS, "1.5800", False),
    (("1.5748", "1.5798", "1.5697", "1.5750"), ExitKind.STOP_LOSS, "1.5800", False),
    (("1.5688", "1.5700", "1.5680", "1.5690"), ExitKind.TAKE_PROFIT, "1.5690", True),
    (("1.5808", "1.5810", "1.5690", "1.5750"), ExitKind.STOP_LOSS, "1.5810", True),
])
def test_short_bracket_exits_on_ask_prices(bid_ohlc: tuple[str, str, str, str], kind: ExitKind,
                                           price: str, gap: bool) -> None:
    hit = bracket_exit(False, D("1.5700"), D("1.5800"), bar(3, *bid_ohlc))
    assert hit is not None
    assert (hit.kind, hit.price, hit.gap) == (kind, D(price), gap)


def test_bar_inside_both_levels_does_not_exit() -> None:
    assert bracket_exit(True, TP, SL, bar(0, "1.5750", "1.5790", "1.5710", "1.5760",
                                          start=T0 - MINUTE)) is None
