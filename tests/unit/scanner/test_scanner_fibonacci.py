from decimal import Decimal as D

import pytest

from libs.common.errors import ConfigurationError
from libs.common.events import decode, encode
from libs.common.events.market import BarClosed
from services.scanner.domain.fibonacci import (
    FibonacciConfig,
    FibonacciFeatures,
    Level,
    Pivot,
    ZigZag,
    find_clusters,
    ratio_name,
    swing_levels,
)

T0 = 1_328_054_400_000_000_000
MINUTE = 60_000_000_000


def bar(i: int, close: D, reach: D = D(1), instrument_id: str = "GBP/USD.FXCM") -> BarClosed:
    """Bar i: mid close `close`, high/low `reach` either side, zero spread."""
    hi, lo = close + reach, close - reach
    return BarClosed(ts_event=T0 + (i + 1) * MINUTE, ts_open=T0 + i * MINUTE,
                     instrument_id=instrument_id, venue="FXCM", symbol="GBPUSD", base="GBP",
                     quote="USD", timeframe_s=60, bid_open=close, bid_high=hi, bid_low=lo,
                     bid_close=close, ask_open=close, ask_high=hi, ask_low=lo, ask_close=close)


# Closes: up 100 -> 110, down to 100, up to 102, in steps of 1 (every true range is 2).
CLOSES = [D(c) for c in list(range(100, 111)) + list(range(109, 99, -1)) + [101, 102]]


def prices(levels: list[Level]) -> dict[str, D]:
    return {ratio_name(lv.ratio): lv.price for lv in levels}


def test_levels_of_an_up_swing() -> None:
    assert prices(swing_levels(D(100), D(200))) == {
        "fib_236": D("176.400"), "fib_382": D("161.800"), "fib_500": D("150.0"),
        "fib_618": D("138.200"), "fib_786": D("121.400"),
        "fib_1272": D("227.200"), "fib_1618": D("261.800")}


def test_levels_of_a_down_swing_mirror_the_up_swing() -> None:
    assert prices(swing_levels(D(200), D(100))) == {
        "fib_236": D("123.6"), "fib_382": D("138.2"), "fib_500": D("150"),
        "fib_618": D("161.8"), "fib_786": D("178.6"),
        "fib_1272": D("72.8"), "fib_1618": D("38.2")}


def test_levels_from_two_swings_within_tolerance_make_a_cluster() -> None:
    levels = [Level(D("150"), D("0.5"), 0), Level(D("150.5"), D("0.618"), 1),
              Level(D("170"), D("0.382"), 0)]
    (c,) = find_clusters(levels, tolerance=D(1))
    assert (c.price, c.strength, len(c.levels)) == (D("150.25"), 2, 2)
    assert find_clusters(levels, tolerance=D("0.1")) == []


def test_levels_of_one_swing_never_make_a_cluster_alone() -> None:
    levels = [Level(D("150"), D("0.5"), 0), Level(D("150.2"), D("0.618"), 0)]
    assert find_clusters(levels, tolerance=D(1)) == []


def test_cluster_width_is_bounded_by_the_tolerance_from_its_lowest_level() -> None:
    levels = [Level(D(100), D("0.5"), 0), Level(D("100.8"), D("0.5"), 1),
              Level(D("101.6"), D("0.5"), 2)]
    clusters = find_clusters(levels, tolerance=D(1))
    # 101.6 is 1.6 above the group's lowest level: it starts a new (single-swing) group
    assert [(c.price, c.strength) for c in clusters] == [(D("100.4"), 2)]


def test_zigzag_confirms_pivots_after_a_reversal_of_the_threshold() -> None:
    zz = ZigZag()
    path = [D(100), D(105), D(110), D(104), D(100), D(106)]
    got = [zz.update(p, p, i, i, threshold=D(5)) for i, p in enumerate(path)]
    assert got == [None, Pivot(0, 0, D(100), -1), None, Pivot(2, 2, D(110), 1), None,
                   Pivot(4, 4, D(100), -1)]
    assert zz.direction == 1 and zz.extreme == (D(106), 5, 5)


def test_zigzag_ignores_a_pullback_smaller_than_the_threshold() -> None:
    zz = ZigZag()
    path = [D(100), D(106), D(102), D(108)]  # 106 -> 102 is 4 < 5
    got = [zz.update(p, p, i, i, threshold=D(5)) for i, p in enumerate(path)]
    assert got == [None, Pivot(0, 0, D(100), -1), None, None]
    assert zz.extreme == (D(108), 3, 3)


def test_features_on_a_constructed_series() -> None:
    fib = FibonacciFeatures(FibonacciConfig(atr_period=2, threshold_pct=D(3),
                                            cluster_tol_atr=D("0.25")))
    out = [fib.on_bar(bar(i, c)) for i, c in enumerate(CLOSES)]
    # pivots: low 99 (bar 0), high 111 (bar 10, confirmed at bar 12), low 99 (bar 20,
    # confirmed at bar 22 when the high 103 is 4 >= 3% of 102 above it)
    assert [(p.index, p.price, p.kind) for p in fib.pivots("GBP/USD.FXCM", 60)] == [
        (0, D(99), -1), (10, D(111), 1), (20, D(99), -1)]
    assert all(f is None for f in out[:12]) and out[12] is not None
    f = out[-1]
    assert f is not None and f.source == "fibonacci" and f.instrument_id == "GBP/USD.FXCM"
    x = f.features
    # last swing 111 -> 99: retracements 99 + 12 r, extensions 111 - 12 e
    assert (x["fib_236"], x["fib_382"], x["fib_500"], x["fib_618"], x["fib_786"]) == (
        D("101.832"), D("103.584"), D("105"), D("106.416"), D("108.432"))
    assert (x["fib_1272"], x["fib_1618"]) == (D("95.736"), D("91.584"))
    assert (x["swing_start"], x["swing_end"], x["swing_dir"]) == (D(111), D(99), D(-1))
    assert (x["atr"], x["close"], x["swings_used"]) == (D(2), D(102), D(2))
    # close 102: nearest level 101.832, 0.168 away = 0.084 ATR
    assert (x["nearest_level"], x["nearest_level_ratio"]) == (D("101.832"), D("0.236"))
    assert x["nearest_level_dist_atr"] == D("0.084")
    # the 99 -> 111 swing's levels 101.568 / 103.584 / 105 / 106.416 / 108.168 fall within
    # 0.25 ATR = 0.5 of the last swing's: five clusters; the nearest is (101.568 + 101.832) / 2
    assert x["cluster_count"] == D(5)
    assert (x["cluster_price"], x["cluster_strength"]) == (D("101.7"), D(2))
    assert x["cluster_dist_atr"] == D("0.15")
    assert x["max_cluster_strength"] == D(2)
    assert x["timeframe_s"] == D(60)
    assert decode(encode(f)) == f


def test_atr_threshold_waits_for_a_warm_atr() -> None:
    fib = FibonacciFeatures(FibonacciConfig(atr_period=14, threshold_atr=D(1)))
    out = [fib.on_bar(bar(i, c)) for i, c in enumerate(CLOSES[:14])]
    assert out == [None] * 14  # ATR(14) needs 15 bars; no zig-zag before
    assert fib.pivots("GBP/USD.FXCM", 60) == ()


def test_series_are_kept_per_instrument() -> None:
    fib = FibonacciFeatures(FibonacciConfig(atr_period=2, threshold_pct=D(3)))
    for i, c in enumerate(CLOSES):
        fib.on_bar(bar(i, c))
    assert fib.pivots("EUR/USD.FXCM", 60) == ()
    assert fib.on_bar(bar(0, D(100), instrument_id="EUR/USD.FXCM")) is None


def test_bad_config_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        FibonacciConfig(min_cluster_strength=1)
    with pytest.raises(ConfigurationError):
        FibonacciConfig(threshold_pct=D(0))
