"""Our incremental RSI, SMA, ATR and EMA against TA-Lib on the recorded FXCM GBP/USD bars.

Inputs are what the forex scanner feeds its indicators: the mid of each bar's bid and ask
close, high and low. Both sides get the same series (our Decimals, as floats for TA-Lib).
TA-Lib runs with its defaults (unstable period 0, default compatibility), set explicitly.
"""
from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal as D

import numpy as np
import pytest

from libs.common.clock import TestClock
from libs.common.events.market import BarClosed
from services.intake.adapters.fxcm_bars import read_fxcm_bars
from services.intake.adapters.recorded import DEFAULT_DATA_DIR
from services.scanner.domain.forex import ForexSignalConfig, ForexSignalScanner
from services.scanner.domain.indicators import Atr, Ema, Rsi, Sma

talib = pytest.importorskip(
    "talib", reason="TA-Lib is not installed (pip install ta-lib: the PyPI wheels bundle the C "
                    "library); the exactness tests need it")

TOL = 1e-9
TWO = D(2)


@pytest.fixture(autouse=True)
def talib_defaults() -> Iterator[None]:
    talib.set_unstable_period("ALL", 0)
    talib.set_compatibility(0)
    yield
    talib.set_unstable_period("ALL", 0)


@pytest.fixture(scope="module")
def bars() -> list[BarClosed]:
    fx = DEFAULT_DATA_DIR / "fxcm"
    out = [b for b in read_fxcm_bars(fx / "gbpusd-m1-bid-2012.csv",
                                      fx / "gbpusd-m1-ask-2012.csv", clock=TestClock(0))
           if isinstance(b, BarClosed)]
    assert len(out) == 30_117
    return out


def mids(bars: list[BarClosed]) -> tuple[list[D], list[D], list[D]]:
    """(high, low, close) mids, as ForexSignalScanner.on_bar computes them."""
    return ([(b.bid_high + b.ask_high) / TWO for b in bars],
            [(b.bid_low + b.ask_low) / TWO for b in bars],
            [(b.bid_close + b.ask_close) / TWO for b in bars])


@pytest.fixture(scope="module")
def series(bars: list[BarClosed]) -> tuple[list[D], list[D], list[D]]:
    return mids(bars)


def f64(xs: list[D]) -> np.ndarray:
    return np.array([float(x) for x in xs])


def assert_same(ours: list[D | None], theirs: np.ndarray) -> int:
    """Same warm-up (None where TA-Lib gives NaN) and the same values to TOL; returns how
    many values were compared."""
    assert len(ours) == len(theirs)
    assert [v is None for v in ours] == np.isnan(theirs).tolist()
    got = np.array([float(v) for v in ours if v is not None])
    want = theirs[~np.isnan(theirs)]
    assert np.max(np.abs(got - want)) <= TOL
    return len(got)


@pytest.mark.parametrize("period", [2, 14, 30])
def test_rsi_equals_talib_rsi(series: tuple[list[D], list[D], list[D]], period: int) -> None:
    _, _, close = series
    rsi = Rsi(period)
    n = assert_same([rsi.update(c) for c in close], talib.RSI(f64(close), period))
    assert n == len(close) - period  # first value on bar `period`, as TA-Lib's


@pytest.mark.parametrize("period", [14, 50, 200])
def test_sma_equals_talib_sma(series: tuple[list[D], list[D], list[D]], period: int) -> None:
    _, _, close = series
    sma = Sma(period)
    n = assert_same([sma.update(c) for c in close], talib.SMA(f64(close), period))
    assert n == len(close) - period + 1


@pytest.mark.parametrize("period", [1, 14, 50])
def test_atr_equals_talib_atr_including_its_first_value(
        series: tuple[list[D], list[D], list[D]], period: int) -> None:
    high, low, close = series
    atr = Atr(period)
    ours = [atr.update(h, lo, c) for h, lo, c in zip(high, low, close, strict=True)]
    theirs = talib.ATR(f64(high), f64(low), f64(close), period)
    n = assert_same(ours, theirs)
    # TA-Lib's first ATR is the mean of the true ranges of bars 1..period (bar 0 has no
    # previous close): ours is seeded the same way.
    trs = [max(high[i], close[i - 1]) - min(low[i], close[i - 1]) for i in range(1, period + 1)]
    assert ours[period] == sum(trs, D(0)) / period
    assert n == len(close) - period


@pytest.mark.parametrize("period", [5, 20, 50])
def test_ema_equals_talib_ema(series: tuple[list[D], list[D], list[D]], period: int) -> None:
    _, _, close = series
    ema = Ema(period)
    ours = [ema.update(c) for c in close]
    n = assert_same(ours, talib.EMA(f64(close), period))
    assert ours[period - 1] == sum(close[:period], D(0)) / period  # seeded with the SMA
    assert n == len(close) - period + 1


def test_talib_unstable_period_only_hides_leading_values(
        series: tuple[list[D], list[D], list[D]]) -> None:
    high, low, close = series
    h, lo, c = f64(high[:2000]), f64(low[:2000]), f64(close[:2000])
    base = {"RSI": talib.RSI(c, 14), "ATR": talib.ATR(h, lo, c, 14), "EMA": talib.EMA(c, 20)}
    for name in base:
        talib.set_unstable_period(name, 40)
    hidden = {"RSI": talib.RSI(c, 14), "ATR": talib.ATR(h, lo, c, 14), "EMA": talib.EMA(c, 20)}
    for name, values in hidden.items():
        shown = ~np.isnan(values)
        assert int(np.isnan(values).sum()) == int(np.isnan(base[name]).sum()) + 40
        assert np.array_equal(values[shown], base[name][shown]), name


def test_rsi_of_a_window_without_change_is_50_where_talib_says_0() -> None:
    flat = [D("1.25")] * 20
    rsi = Rsi(14)
    ours = [rsi.update(x) for x in flat]
    theirs = talib.RSI(f64(flat), 14)
    assert ours[14:] == [D(50)] * 6
    assert theirs[14:].tolist() == [0.0] * 6


def test_rsi_flat_window_never_occurs_in_the_recorded_bars(
        series: tuple[list[D], list[D], list[D]]) -> None:
    # so the documented 50-vs-0 difference does not hide in the comparisons above
    _, _, close = series
    changes = np.diff(f64(close)) != 0
    longest_flat = max(len(run) for run in "".join("1" if x else "0" for x in changes).split("1"))
    assert longest_flat < 14


def test_forex_scanner_signals_carry_talib_values_of_their_series(
        bars: list[BarClosed]) -> None:
    # The scanner skips bars whose ask closes below the bid and restarts after a gap longer
    # than max_gap_ns: rebuild the same segments and run TA-Lib on each.
    cfg = ForexSignalConfig()
    scan = ForexSignalScanner(TestClock(0), cfg)
    segments: list[list[BarClosed]] = []
    where: dict[int, tuple[int, int]] = {}  # bar close ts -> (segment, index in it)
    signals = []
    last_close = -1
    for b in bars:
        signals.extend(scan.on_bar(b))
        if b.ask_close < b.bid_close:
            continue
        if not segments or b.ts_open - last_close > cfg.max_gap_ns:
            segments.append([])
        last_close = b.ts_event
        where[b.ts_event] = (len(segments) - 1, len(segments[-1]))
        segments[-1].append(b)
    assert len(segments) == 5  # February 2012: four weekends
    assert len(signals) > 50
    per_segment = []
    for seg in segments:
        high, low, close = (f64(x) for x in mids(seg))
        per_segment.append((talib.RSI(close, cfg.rsi_period), talib.SMA(close, cfg.sma_period),
                            talib.ATR(high, low, close, cfg.atr_period)))
    for s in signals:
        k, i = where[s.ts_event]
        rsi, sma, atr = (v[i] for v in per_segment[k])
        assert abs(float(s.rsi) - rsi) <= TOL
        assert abs(float(s.sma) - sma) <= TOL
        assert abs(float(s.atr) - atr) <= TOL
