from decimal import Decimal as D

import pytest

from libs.common.enums import InstrumentKind
from services.scanner.domain.vwap import available_base, walk_book

SPOT = InstrumentKind.SPOT
LINEAR = InstrumentKind.LINEAR
INVERSE = InstrumentKind.INVERSE


def test_walk_inside_the_first_level_fills_at_that_price() -> None:
    walk = walk_book(((D(100), D(2)),), D("1.5"), SPOT)
    assert walk is not None
    assert (walk.vwap, walk.quantity, walk.native_quantity) == (D(100), D("1.5"), D("1.5"))
    assert (walk.notional, walk.levels_used, walk.best_price) == (D("150"), 1, D(100))
    assert not walk.depth_exhausted


def test_walk_across_levels_averages_by_quantity() -> None:
    asks = ((D(100), D(1)), (D(101), D(2)), (D(103), D(5)))
    walk = walk_book(asks, D("2.5"), LINEAR)
    assert walk is not None
    # 1 @ 100 + 1.5 @ 101 = 251.5 for 2.5
    assert walk.notional == D("251.5")
    assert walk.vwap == D("100.6")
    assert walk.levels_used == 2
    assert walk.best_price == D(100)
    assert not walk.depth_exhausted


def test_walk_of_bids_takes_best_bid_first() -> None:
    bids = ((D(99), D("0.5")), (D(98), D(1)))
    walk = walk_book(bids, D(1), SPOT)
    assert walk is not None
    assert walk.vwap == D("98.5")  # 0.5 @ 99 + 0.5 @ 98
    assert walk.best_price == D(99)


def test_walk_reports_depth_exhausted_with_what_it_could_fill() -> None:
    asks = ((D(100), D(1)), (D(101), D(1)))
    walk = walk_book(asks, D(3), SPOT)
    assert walk is not None
    assert walk.depth_exhausted
    assert (walk.requested, walk.quantity, walk.notional) == (D(3), D(2), D(201))
    assert walk.vwap == D("100.5")
    assert walk.levels_used == 2


def test_inverse_walk_converts_each_level_at_its_own_price() -> None:
    # 10 contracts x 100 USD at 50,000 = 0.02 BTC; then 0.01 BTC of the 40,000 level = 4 contracts
    bids = ((D(50_000), D(10)), (D(40_000), D(8)))
    walk = walk_book(bids, D("0.03"), INVERSE, D(100))
    assert walk is not None
    assert walk.quantity == D("0.03")
    assert walk.native_quantity == D(14)
    assert walk.notional == D(1400)
    assert walk.vwap == D(1400) / D("0.03")
    assert walk.levels_used == 2
    assert not walk.depth_exhausted


def test_inverse_partial_level_gives_fractional_contracts() -> None:
    walk = walk_book(((D("61804.7"), D(35)),), D("0.01"), INVERSE, D(100))
    assert walk is not None
    assert walk.native_quantity == D("6.18047")
    assert walk.notional == D("618.047")
    assert walk.vwap == D("61804.7")


def test_inverse_walk_that_runs_out_fills_the_base_value_of_all_contracts() -> None:
    walk = walk_book(((D(50_000), D(10)),), D(1), INVERSE, D(100))
    assert walk is not None
    assert walk.depth_exhausted
    assert (walk.quantity, walk.native_quantity, walk.vwap) == (D("0.02"), D(10), D(50_000))


def test_available_base_counts_inverse_contracts_in_base_units() -> None:
    bids = ((D(50_000), D(10)), (D(40_000), D(8)))
    assert available_base(bids, INVERSE, D(100)) == D("0.04")
    assert available_base(bids, SPOT) == D(18)


def test_empty_side_has_no_walk() -> None:
    assert walk_book((), D(1), SPOT) is None


def test_walk_rejects_non_positive_quantity_and_inverse_without_contract_size() -> None:
    with pytest.raises(ValueError):
        walk_book(((D(1), D(1)),), D(0), SPOT)
    with pytest.raises(ValueError):
        walk_book(((D(1), D(1)),), D(1), INVERSE)
