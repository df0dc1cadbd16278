from decimal import Decimal as D

import numpy as np
import pytest

from services.scanner.domain.indicators import Atr, Rsi, Sma

# StockCharts' worked RSI(14) example ("Relative Strength Index (RSI)", ChartSchool) and the
# 14-period values it publishes, to two decimals.
TEXTBOOK_CLOSES = [D(x) for x in (
    "44.3389 44.0902 44.1497 43.6124 44.2778 44.8264 45.0955 45.4245 45.8433 46.0826 45.8931 "
    "46.0328 45.6140 46.2820 46.2820 46.0028 46.0328 46.4116 46.2222 45.6439 46.2122 46.2521 "
    "45.7137 46.4515 45.7835 45.3548 44.0288 44.1783 44.2181 44.5672 43.4205 42.6628 43.1314"
).split()]
TEXTBOOK_RSI = [D(x) for x in (
    "70.53 66.32 66.55 69.41 66.36 57.97 62.93 63.26 56.06 62.38 54.71 50.42 39.99 41.46 "
    "41.87 45.46 37.30 33.08 37.77"
).split()]


def batch_sma(xs: list[float], n: int) -> list[float | None]:
    return [None if i + 1 < n else sum(xs[i + 1 - n:i + 1]) / n for i in range(len(xs))]


def batch_rsi(xs: list[float], n: int) -> list[float | None]:
    out: list[float | None] = [None] * len(xs)
    deltas = np.diff(np.array(xs))
    gains, losses = np.clip(deltas, 0, None), np.clip(-deltas, 0, None)
    avg_g, avg_l = gains[:n].mean(), losses[:n].mean()
    for i in range(n, len(xs)):
        if i > n:
            avg_g = (avg_g * (n - 1) + gains[i - 1]) / n
            avg_l = (avg_l * (n - 1) + losses[i - 1]) / n
        out[i] = 100.0 if avg_l == 0 else 100 - 100 / (1 + avg_g / avg_l)
    return out


def batch_atr(h: list[float], lo: list[float], c: list[float], n: int) -> list[float | None]:
    tr = [max(h[i], c[i - 1]) - min(lo[i], c[i - 1]) for i in range(1, len(c))]
    out: list[float | None] = [None] * len(c)
    atr = sum(tr[:n]) / n
    out[n] = atr
    for i in range(n + 1, len(c)):
        atr = (atr * (n - 1) + tr[i - 1]) / n
        out[i] = atr
    return out


def fx_like_series(n: int = 400) -> tuple[list[D], list[D], list[D]]:
    rng = np.random.default_rng(20120201)
    closes = 1.5760 + np.cumsum(rng.normal(0, 0.0003, n))
    highs = closes + np.abs(rng.normal(0, 0.0002, n))
    lows = closes - np.abs(rng.normal(0, 0.0002, n))

    def q(a: np.ndarray) -> list[D]:
        return [D(f"{x:.5f}") for x in a]

    return q(highs), q(lows), q(closes)


def test_sma_averages_the_last_period_values() -> None:
    sma = Sma(3)
    assert [sma.update(D(x)) for x in (1, 2, 3, 4, 6)] == [None, None, D(2), D(3), D(
        "4.333333333333333333333333333")]
    assert sma.ready


def test_rsi_hand_computed_with_wilder_smoothing() -> None:
    rsi = Rsi(2)
    out = [rsi.update(D(x)) for x in ("1", "2", "1.5", "2.5", "2")]
    # changes +1, -0.5 seed gain 0.5 / loss 0.25 -> RS 2; then +1 -> 0.75 / 0.125 -> RS 6;
    # then -0.5 -> 0.375 / 0.3125 -> RS 1.2
    assert out[:2] == [None, None]
    assert out[2] == D(100) - D(100) / 3
    assert out[3] == D(100) - D(100) / 7
    assert out[4] == D(100) - D(100) / D("2.2")


def test_rsi_matches_the_textbook_example() -> None:
    rsi = Rsi(14)
    out = [rsi.update(c) for c in TEXTBOOK_CLOSES]
    assert out[:14] == [None] * 14
    assert [v.quantize(D("0.01")) for v in out[14:] if v is not None] == TEXTBOOK_RSI


def test_rsi_without_losses_is_100_and_without_any_change_is_50() -> None:
    up, flat = Rsi(3), Rsi(3)
    for x in range(5):
        up.update(D(x))
        flat.update(D(7))
    assert (up.value, flat.value) == (D(100), D(50))


def test_atr_hand_computed_true_range_uses_previous_close() -> None:
    atr = Atr(2)
    bars = [("10", "8", "9"), ("11", "9", "10"), ("12", "10", "11"), ("11", "7", "8"),
            ("15", "14", "14.5")]
    out = [atr.update(D(h), D(lo), D(c)) for h, lo, c in bars]
    # TR: 2, 2 -> seed 2; TR 4 (11 - 7) -> 3; gap up TR 7 (15 - prev close 8) -> 5
    assert out == [None, None, D(2), D(3), D(5)]


def test_reset_forgets_history() -> None:
    rsi, sma, atr = Rsi(2), Sma(2), Atr(2)
    for x in (1, 2, 3):
        rsi.update(D(x))
        sma.update(D(x))
        atr.update(D(x), D(x), D(x))
    for ind in (rsi, sma, atr):
        assert ind.ready
        ind.reset()
        assert not ind.ready and ind.value is None


@pytest.mark.parametrize("period", [0, -1])
def test_period_must_be_positive(period: int) -> None:
    for cls in (Sma, Rsi, Atr):
        with pytest.raises(ValueError):
            cls(period)


def test_incremental_indicators_match_batch_versions_on_an_fx_like_series() -> None:
    highs, lows, closes = fx_like_series()
    rsi, sma, atr = Rsi(14), Sma(50), Atr(14)
    got_rsi = [rsi.update(c) for c in closes]
    got_sma = [sma.update(c) for c in closes]
    got_atr = [atr.update(h, lo, c) for h, lo, c in zip(highs, lows, closes, strict=True)]
    f = [float(c) for c in closes]
    want = {
        "rsi": (got_rsi, batch_rsi(f, 14)),
        "sma": (got_sma, batch_sma(f, 50)),
        "atr": (got_atr, batch_atr([float(h) for h in highs], [float(x) for x in lows], f, 14)),
    }
    for name, (got, expected) in want.items():
        assert [g is None for g in got] == [e is None for e in expected], name
        pairs = [(float(g), e) for g, e in zip(got, expected, strict=True) if g is not None]
        assert pairs, name
        assert all(g == pytest.approx(e, rel=1e-9, abs=1e-12) for g, e in pairs), name
