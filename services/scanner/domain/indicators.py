"""Incremental technical indicators: O(1) work and memory per update, Decimal in and out.

Each indicator returns None from `update` until it is warm, then its current value. Each equals
TA-Lib's function of the same name (default compatibility) to 1e-9 on the recorded FXCM
GBP/USD minute bars, from TA-Lib's first output on (tests/unit/scanner/test_scanner_talib.py):
our first value comes on the same bar as TA-Lib's first non-NaN one. TA-Lib's "unstable
period" (RSI, ATR, EMA) only hides that many more leading values; the values it does output
are the same. The one difference: a window without any change reads 50 in our RSI and 0 in
TA-Lib's (see `Rsi`).
"""
from __future__ import annotations

from collections import deque
from decimal import Decimal

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
_FIFTY = Decimal(50)


def _check_period(period: int) -> None:
    if period < 1:
        raise ValueError(f"indicator period must be >= 1, got {period}")


class Sma:
    """Simple moving average of the last `period` values (a running sum over a ring buffer)."""

    def __init__(self, period: int) -> None:
        _check_period(period)
        self.period = period
        self._window: deque[Decimal] = deque()
        self._sum = _ZERO
        self.value: Decimal | None = None

    @property
    def ready(self) -> bool:
        """True once `period` values have been seen."""
        return self.value is not None

    def update(self, x: Decimal) -> Decimal | None:
        """Add one value; the average of the last `period` values, or None while warming up."""
        self._window.append(x)
        self._sum += x
        if len(self._window) > self.period:
            self._sum -= self._window.popleft()
        if len(self._window) == self.period:
            self.value = self._sum / self.period
        return self.value

    def reset(self) -> None:
        """Forget every value seen."""
        self._window.clear()
        self._sum = _ZERO
        self.value = None


class Ema:
    """Exponential moving average as TA-Lib computes it by default: the first value is the
    simple mean of the first `period` values, then ema += k x (x - ema) with k = 2 / (period + 1).
    Warm after `period` values. (TA-Lib's Metastock mode seeds with the first value instead.)
    """

    def __init__(self, period: int) -> None:
        _check_period(period)
        self.period = period
        self._k = Decimal(2) / (period + 1)
        self._count = 0
        self._acc = _ZERO  # sum while seeding, then the average
        self.value: Decimal | None = None

    @property
    def ready(self) -> bool:
        """True once `period` values have been seen."""
        return self.value is not None

    def update(self, x: Decimal) -> Decimal | None:
        """Add one value; the EMA, or None while warming up."""
        self._count += 1
        n = self.period
        if self._count < n:
            self._acc += x
            return None
        if self._count == n:
            self._acc = (self._acc + x) / n
        else:
            self._acc += self._k * (x - self._acc)
        self.value = self._acc
        return self.value

    def reset(self) -> None:
        """Forget every value seen."""
        self._count = 0
        self._acc = _ZERO
        self.value = None


class Rsi:
    """Wilder's RSI. The first average gain/loss is the simple mean of the first `period`
    changes; after that avg = (avg x (period - 1) + change) / period. Warm after period + 1
    values. A window with no losses reads 100, one with no change at all reads 50.

    TA-Lib reads 0 for the no-change window (its 100 x gain / (gain + loss) has nothing to
    divide). We keep 50: a flat market is neutral, and a 0 would make the forex scanner see
    a deep oversold reading that crosses back up through 30 on the next tick of movement.
    """

    def __init__(self, period: int = 14) -> None:
        _check_period(period)
        self.period = period
        self._prev: Decimal | None = None
        self._count = 0  # changes seen
        self._gain = _ZERO  # sum while seeding, then Wilder average
        self._loss = _ZERO
        self.value: Decimal | None = None

    @property
    def ready(self) -> bool:
        """True once `period` changes (period + 1 values) have been seen."""
        return self.value is not None

    def update(self, x: Decimal) -> Decimal | None:
        """Add one value; the RSI in [0, 100], or None while warming up."""
        prev, self._prev = self._prev, x
        if prev is None:
            return None
        change = x - prev
        gain = change if change > 0 else _ZERO
        loss = -change if change < 0 else _ZERO
        n = self.period
        self._count += 1
        if self._count < n:
            self._gain += gain
            self._loss += loss
            return None
        if self._count == n:
            self._gain = (self._gain + gain) / n
            self._loss = (self._loss + loss) / n
        else:
            self._gain = (self._gain * (n - 1) + gain) / n
            self._loss = (self._loss * (n - 1) + loss) / n
        self.value = self._rsi()
        return self.value

    def _rsi(self) -> Decimal:
        if self._loss == 0:
            return _FIFTY if self._gain == 0 else _HUNDRED
        return _HUNDRED - _HUNDRED / (1 + self._gain / self._loss)

    def reset(self) -> None:
        """Forget every value seen."""
        self._prev = None
        self._count = 0
        self._gain = _ZERO
        self._loss = _ZERO
        self.value = None


class Atr:
    """Wilder's average true range. True range = max(high, prev close) - min(low, prev close),
    so the first bar only supplies a previous close (as TA-Lib does); the first ATR is the mean
    of the next `period` true ranges and then atr = (atr x (period - 1) + tr) / period.
    Warm after period + 1 bars.
    """

    def __init__(self, period: int = 14) -> None:
        _check_period(period)
        self.period = period
        self._prev_close: Decimal | None = None
        self._count = 0  # true ranges seen
        self._acc = _ZERO  # sum while seeding, then the Wilder average
        self.value: Decimal | None = None

    @property
    def ready(self) -> bool:
        """True once `period` true ranges (period + 1 bars) have been seen."""
        return self.value is not None

    def update(self, high: Decimal, low: Decimal, close: Decimal) -> Decimal | None:
        """Add one bar; the ATR in price units, or None while warming up."""
        prev, self._prev_close = self._prev_close, close
        if prev is None:
            return None
        tr = max(high, prev) - min(low, prev)
        n = self.period
        self._count += 1
        if self._count < n:
            self._acc += tr
            return None
        if self._count == n:
            self._acc = (self._acc + tr) / n
        else:
            self._acc = (self._acc * (n - 1) + tr) / n
        self.value = self._acc
        return self.value

    def reset(self) -> None:
        """Forget every bar seen."""
        self._prev_close = None
        self._count = 0
        self._acc = _ZERO
        self.value = None
