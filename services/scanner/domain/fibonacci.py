"""Fibonacci retracements, extensions and level clusters of zig-zag swings on closed bars.
Pure: no I/O, no clock.

Prices are mids: (bid + ask) / 2 of each bar's high, low and close, as in `forex.py`.

- Swings. A zig-zag on bar highs and lows with a reversal threshold of `threshold_atr` x
  ATR(`atr_period`) (or `threshold_pct` % of the price when set, which needs no warm-up). While
  the leg is up, a higher high extends it; otherwise a low at least one threshold under the
  leg's extreme confirms that extreme as a swing HIGH and starts a down leg (mirror for down
  legs). Within one bar the extension is checked before the reversal, since a bar's order of
  high and low is unknown. Until the first direction is known, the first move of one threshold
  away from the running extreme sets it. A swing is the move between two confirmed pivots; the
  unconfirmed leg in progress is not used (its end can still move).
- Levels of a swing from A to B (A = start pivot, B = end pivot, d = B - A):
  retracement r in (0.236, 0.382, 0.5, 0.618, 0.786) sits at B - r d (back towards A);
  extension e in (1.272, 1.618) sits at A + e d (beyond B, the projection targets).
- Clusters ("resonance"). The levels of the last `swings` swings are sorted and grouped
  greedily: a level joins the current group while it lies within `cluster_tol_atr` x ATR of the
  group's lowest level, else it starts a new group. A group's strength is the number of
  distinct swings with a level in it; groups of strength >= 2 are clusters, priced at the mean
  of their levels.
- Distances are |close - level| / ATR.

Features (flat, Decimal; names of the last swing's levels are fib_<per-mille-ish ratio>):
fib_236, fib_382, fib_500, fib_618, fib_786, fib_1272, fib_1618, swing_start, swing_end,
swing_dir (+1 up, -1 down), atr, close, nearest_level, nearest_level_dist_atr,
nearest_level_ratio, swings_used, cluster_count, and when a cluster exists: cluster_price,
cluster_strength (of the nearest cluster), cluster_dist_atr, max_cluster_strength.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from decimal import Decimal

from libs.common.errors import ConfigurationError
from libs.common.events.market import BarClosed
from libs.common.events.opportunity import FeaturesComputed
from services.scanner.domain.indicators import Atr

SOURCE = "fibonacci"
RETRACEMENTS = (Decimal("0.236"), Decimal("0.382"), Decimal("0.5"), Decimal("0.618"),
                Decimal("0.786"))
EXTENSIONS = (Decimal("1.272"), Decimal("1.618"))
_TWO = Decimal(2)
_HUNDRED = Decimal(100)
_Q = Decimal("0.000001")


def ratio_name(ratio: Decimal) -> str:
    """`fib_382` for 0.382, `fib_500` for 0.5, `fib_1272` for 1.272."""
    digits = (ratio * 1000).to_integral_value()
    return f"fib_{int(digits):03d}"


@dataclass(frozen=True, slots=True)
class Pivot:
    """A confirmed swing extreme: `kind` +1 for a high, -1 for a low."""

    index: int  # bar count at the extreme (0-based, per series)
    ts_ns: int
    price: Decimal
    kind: int


@dataclass(frozen=True, slots=True)
class Level:
    """One Fibonacci level of one swing."""

    price: Decimal
    ratio: Decimal
    swing: int  # 0 = the last swing, 1 = the one before, ...


@dataclass(frozen=True, slots=True)
class Cluster:
    """Levels from several swings within the tolerance."""

    price: Decimal  # mean of its levels
    strength: int  # distinct swings contributing
    levels: tuple[Level, ...]


def swing_levels(start: Decimal, end: Decimal, swing: int = 0) -> list[Level]:
    """Retracements (back from `end` towards `start`) and extensions (beyond `end`) of the
    move start -> end."""
    d = end - start
    out = [Level(end - r * d, r, swing) for r in RETRACEMENTS]
    out += [Level(start + e * d, e, swing) for e in EXTENSIONS]
    return out


def find_clusters(levels: list[Level], tolerance: Decimal, min_strength: int = 2
                  ) -> list[Cluster]:
    """Group sorted levels: a level joins the group while within `tolerance` of the group's
    lowest level. Return groups with at least `min_strength` distinct swings, by price."""
    groups: list[list[Level]] = []
    for lv in sorted(levels, key=lambda x: x.price):
        if groups and lv.price - groups[-1][0].price <= tolerance:
            groups[-1].append(lv)
        else:
            groups.append([lv])
    out = []
    for g in groups:
        strength = len({lv.swing for lv in g})
        if strength >= min_strength:
            mean = sum((lv.price for lv in g), Decimal(0)) / len(g)
            out.append(Cluster(mean, strength, tuple(g)))
    return out


class ZigZag:
    """Incremental zig-zag over bar highs and lows (see the module doc); `update` returns the
    pivot a bar confirms, if any."""

    def __init__(self) -> None:
        self.direction = 0  # +1 up leg, -1 down leg, 0 not yet known
        self._hi: tuple[Decimal, int, int] | None = None  # running high (price, index, ts)
        self._lo: tuple[Decimal, int, int] | None = None
        self.extreme: tuple[Decimal, int, int] | None = None  # the leg's extreme so far

    def update(self, high: Decimal, low: Decimal, index: int, ts_ns: int,
               threshold: Decimal) -> Pivot | None:
        """Add one bar; `threshold` is the reversal distance in price units."""
        if self.direction == 0:
            if self._hi is None or high > self._hi[0]:
                self._hi = (high, index, ts_ns)
            if self._lo is None or low < self._lo[0]:
                self._lo = (low, index, ts_ns)
            assert self._hi is not None and self._lo is not None
            # The later of the two extremes names the first leg's direction.
            if self._hi[0] - self._lo[0] >= threshold:
                if self._hi[1] >= self._lo[1]:
                    self.direction, self.extreme = 1, self._hi
                    p, i, t = self._lo
                    return Pivot(i, t, p, -1)
                self.direction, self.extreme = -1, self._lo
                p, i, t = self._hi
                return Pivot(i, t, p, 1)
            return None
        assert self.extreme is not None
        if self.direction == 1:
            if high > self.extreme[0]:
                self.extreme = (high, index, ts_ns)
            elif self.extreme[0] - low >= threshold:
                p, i, t = self.extreme
                self.direction, self.extreme = -1, (low, index, ts_ns)
                return Pivot(i, t, p, 1)
            return None
        if low < self.extreme[0]:
            self.extreme = (low, index, ts_ns)
        elif high - self.extreme[0] >= threshold:
            p, i, t = self.extreme
            self.direction, self.extreme = 1, (high, index, ts_ns)
            return Pivot(i, t, p, -1)
        return None


@dataclass(frozen=True, slots=True)
class FibonacciConfig:
    """Settings of `FibonacciFeatures`.

    threshold_atr: zig-zag reversal in ATR units; threshold_pct: in % of the bar's close
        instead (overrides threshold_atr when set).
    swings: how many completed swings feed the clusters (the last one gives fib_*).
    cluster_tol_atr: cluster width in ATR units. min_cluster_strength: swings per cluster.
    """

    atr_period: int = 14
    threshold_atr: Decimal = Decimal(3)
    threshold_pct: Decimal | None = None
    swings: int = 3
    cluster_tol_atr: Decimal = Decimal("0.25")
    min_cluster_strength: int = 2

    def __post_init__(self) -> None:
        if self.atr_period < 1 or self.swings < 1 or self.min_cluster_strength < 2:
            raise ConfigurationError("need atr_period >= 1, swings >= 1, "
                                     "min_cluster_strength >= 2")
        if self.threshold_atr <= 0 or (self.threshold_pct is not None
                                       and self.threshold_pct <= 0):
            raise ConfigurationError("zig-zag thresholds must be > 0")
        if self.cluster_tol_atr < 0:
            raise ConfigurationError(f"cluster_tol_atr must be >= 0, got {self.cluster_tol_atr}")


class _Series:
    __slots__ = ("atr", "zigzag", "pivots", "count")

    def __init__(self, cfg: FibonacciConfig) -> None:
        self.atr = Atr(cfg.atr_period)
        self.zigzag = ZigZag()
        self.pivots: deque[Pivot] = deque(maxlen=cfg.swings + 1)
        self.count = 0


class FibonacciFeatures:
    """Fibonacci features per (instrument, timeframe) from closed bars (see the module doc)."""

    def __init__(self, config: FibonacciConfig | None = None) -> None:
        self._config = config if config is not None else FibonacciConfig()
        self._series: dict[tuple[str, int], _Series] = {}

    @property
    def config(self) -> FibonacciConfig:
        """The settings in force."""
        return self._config

    def pivots(self, instrument_id: str, timeframe_s: int) -> tuple[Pivot, ...]:
        """The confirmed pivots kept for a series, oldest first."""
        s = self._series.get((instrument_id, timeframe_s))
        return tuple(s.pivots) if s is not None else ()

    def on_bar(self, bar: BarClosed) -> FeaturesComputed | None:
        """Feed one closed bar; the features once ATR is warm and a swing is complete."""
        cfg = self._config
        if bar.ask_close < bar.bid_close or bar.bid_close <= 0:
            return None
        key = (bar.instrument_id, bar.timeframe_s)
        s = self._series.get(key)
        if s is None:
            s = self._series[key] = _Series(cfg)
        high = (bar.bid_high + bar.ask_high) / _TWO
        low = (bar.bid_low + bar.ask_low) / _TWO
        close = (bar.bid_close + bar.ask_close) / _TWO
        atr = s.atr.update(high, low, close)
        index, s.count = s.count, s.count + 1
        if cfg.threshold_pct is not None:
            threshold: Decimal | None = close * cfg.threshold_pct / _HUNDRED
        else:
            threshold = cfg.threshold_atr * atr if atr is not None else None
        if threshold is not None and threshold > 0:
            pivot = s.zigzag.update(high, low, index, bar.ts_event, threshold)
            if pivot is not None:
                s.pivots.append(pivot)
        if atr is None or atr <= 0 or len(s.pivots) < 2:
            return None
        features = self._features(s, close, atr)
        features["timeframe_s"] = Decimal(bar.timeframe_s)
        return FeaturesComputed(ts_event=bar.ts_event, **bar.caused(),
                                instrument_id=bar.instrument_id, source=SOURCE,
                                features=features)

    def _features(self, s: _Series, close: Decimal, atr: Decimal) -> dict[str, Decimal]:
        cfg = self._config
        piv = list(s.pivots)
        swings = [(piv[i - 1], piv[i]) for i in range(len(piv) - 1, 0, -1)]  # newest first
        levels: list[Level] = []
        for n, (a, b) in enumerate(swings):
            levels += swing_levels(a.price, b.price, n)
        a, b = swings[0]
        f: dict[str, Decimal] = {ratio_name(lv.ratio): lv.price for lv in levels if lv.swing == 0}
        f.update(swing_start=a.price, swing_end=b.price,
                 swing_dir=Decimal(1 if b.price > a.price else -1), atr=atr, close=close,
                 swings_used=Decimal(len(swings)))
        last = [lv for lv in levels if lv.swing == 0]
        nearest = min(last, key=lambda lv: abs(close - lv.price))
        f["nearest_level"] = nearest.price
        f["nearest_level_ratio"] = nearest.ratio
        f["nearest_level_dist_atr"] = (abs(close - nearest.price) / atr).quantize(_Q)
        clusters = find_clusters(levels, cfg.cluster_tol_atr * atr, cfg.min_cluster_strength)
        f["cluster_count"] = Decimal(len(clusters))
        if clusters:
            c = min(clusters, key=lambda c: abs(close - c.price))
            f["cluster_price"] = c.price
            f["cluster_strength"] = Decimal(c.strength)
            f["cluster_dist_atr"] = (abs(close - c.price) / atr).quantize(_Q)
            f["max_cluster_strength"] = Decimal(max(c.strength for c in clusters))
        else:
            f["cluster_strength"] = Decimal(0)
            f["max_cluster_strength"] = Decimal(0)
        return f
