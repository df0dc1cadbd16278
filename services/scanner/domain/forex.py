"""RSI mean-reversion signals on closed forex bars, with ATR-sized take-profit and stop-loss."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

from libs.common.clock import Clock
from libs.common.enums import OrderSide
from libs.common.errors import ConfigurationError
from libs.common.events.market import BarClosed
from libs.common.events.opportunity import ForexSignalDetected
from libs.common.identifiers import derived_id
from services.scanner.domain.indicators import Atr, Rsi, Sma

STRATEGY = "fx_rsi_reversion"

_TWO = Decimal(2)
_BPS = Decimal(10_000)


@dataclass(frozen=True, slots=True)
class ForexSignalConfig:
    """Settings of `ForexSignalScanner`.

    max_gap_ns: when more than this passes between one bar's close and the next bar's open
        (a weekend: Friday 22:00 to Sunday 22:00 UTC), the indicators start again from cold.
        The 1-minute FXCM GBP/USD history has intraday holes of at most 5 minutes.
    tick_size: take-profit and stop-loss are rounded to it (half-even); None rounds to the
        finest decimal place of the bar's close prices.
    """

    rsi_period: int = 14
    sma_period: int = 50
    atr_period: int = 14
    oversold: Decimal = Decimal(30)
    overbought: Decimal = Decimal(70)
    tp_atr: Decimal = Decimal("2.0")
    sl_atr: Decimal = Decimal("1.5")
    quantity: Decimal = Decimal(10_000)
    max_gap_ns: int = 3_600 * 1_000_000_000
    tick_size: Decimal | None = field(default=None)
    strategy: str = STRATEGY

    def __post_init__(self) -> None:
        if not 0 < self.oversold < self.overbought < 100:
            raise ConfigurationError(
                f"need 0 < oversold < overbought < 100, got {self.oversold}, {self.overbought}")
        if self.tp_atr <= 0 or self.sl_atr <= 0:
            raise ConfigurationError(f"tp_atr and sl_atr must be > 0, got {self.tp_atr}, "
                                     f"{self.sl_atr}")
        if self.quantity <= 0:
            raise ConfigurationError(f"quantity must be > 0, got {self.quantity}")
        if self.max_gap_ns <= 0:
            raise ConfigurationError(f"max_gap_ns must be > 0, got {self.max_gap_ns}")
        if self.tick_size is not None and self.tick_size <= 0:
            raise ConfigurationError(f"tick_size must be > 0, got {self.tick_size}")


class _Series:
    """Indicator state of one instrument and bar timeframe."""

    __slots__ = ("rsi", "sma", "atr", "prev_rsi", "last_close_ns")

    def __init__(self, cfg: ForexSignalConfig) -> None:
        self.rsi = Rsi(cfg.rsi_period)
        self.sma = Sma(cfg.sma_period)
        self.atr = Atr(cfg.atr_period)
        self.prev_rsi: Decimal | None = None
        self.last_close_ns = -1

    def reset(self) -> None:
        self.rsi.reset()
        self.sma.reset()
        self.atr.reset()
        self.prev_rsi = None


class ForexSignalScanner:
    """Mean reversion on RSI, one series per (instrument, bar timeframe).

    Prices: indicators read the mid (bid + ask) / 2 of each bar's close, high and low, so a
    spread that widens on both sides does not move them (the mid high/low is the mean of the
    bid and ask extremes, an approximation of the true mid extremes).

    Rule: BUY when RSI(14) crosses back up through `oversold` (previous bar < 30 <= this bar),
    SELL when it crosses back down through `overbought` (previous > 70 >= this); no trend
    filter. Entry is the bar's closing ask (buy) or bid (sell); take-profit = entry +/- tp_atr x
    ATR(14), stop-loss = entry -/+ sl_atr x ATR(14). SMA(50) is reported, not used as a filter,
    but no signal fires until RSI, SMA and ATR are all warm.

    Gaps: a bar opening more than `max_gap_ns` after the previous one closed resets the series
    and warms up again from that bar. Wilder averages would otherwise blend Friday's market
    into Sunday's and the gap's true range would inflate ATR; it also keeps signals off the
    thin, wide-spread open. Bars at or before the last close seen, and bars whose ask is
    below their bid, are ignored.
    """

    def __init__(self, clock: Clock, config: ForexSignalConfig | None = None) -> None:
        self._clock = clock
        self._config = config if config is not None else ForexSignalConfig()
        self._series: dict[tuple[str, int], _Series] = {}

    @property
    def config(self) -> ForexSignalConfig:
        """The settings in force."""
        return self._config

    def reset(self, instrument_id: str | None = None) -> None:
        """Forget indicator state for one instrument (every timeframe), or for all."""
        for key in list(self._series):
            if instrument_id is None or key[0] == instrument_id:
                del self._series[key]

    def on_bar(self, bar: BarClosed) -> list[ForexSignalDetected]:
        """Feed one closed bar; return the signal it fires, if any."""
        cfg = self._config
        if bar.ask_close < bar.bid_close or bar.bid_close <= 0:
            return []
        key = (bar.instrument_id, bar.timeframe_s)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = _Series(cfg)
        elif bar.ts_event <= series.last_close_ns:
            return []
        elif bar.ts_open - series.last_close_ns > cfg.max_gap_ns:
            series.reset()
        series.last_close_ns = bar.ts_event

        close = (bar.bid_close + bar.ask_close) / _TWO
        rsi = series.rsi.update(close)
        sma = series.sma.update(close)
        atr = series.atr.update((bar.bid_high + bar.ask_high) / _TWO,
                                (bar.bid_low + bar.ask_low) / _TWO, close)
        prev_rsi, series.prev_rsi = series.prev_rsi, rsi
        if rsi is None or sma is None or atr is None or prev_rsi is None:
            return []
        if prev_rsi < cfg.oversold <= rsi:
            side = OrderSide.BUY
        elif prev_rsi > cfg.overbought >= rsi:
            side = OrderSide.SELL
        else:
            return []
        return [self._signal(bar, side, rsi, sma, atr, close)]

    def _signal(self, bar: BarClosed, side: OrderSide, rsi: Decimal, sma: Decimal,
                atr: Decimal, mid: Decimal) -> ForexSignalDetected:
        cfg = self._config
        tick = cfg.tick_size if cfg.tick_size is not None else _finest_tick(bar)
        entry = bar.ask_close if side is OrderSide.BUY else bar.bid_close
        sign = side.sign
        take_profit = (entry + sign * cfg.tp_atr * atr).quantize(tick, ROUND_HALF_EVEN)
        stop_loss = (entry - sign * cfg.sl_atr * atr).quantize(tick, ROUND_HALF_EVEN)
        return ForexSignalDetected(
            ts_event=bar.ts_event,
            ts_init=self._clock.now_ns(),
            **bar.caused(),
            opportunity_id=derived_id("fx", cfg.strategy, bar.instrument_id,
                                      str(bar.timeframe_s), str(bar.ts_event), side.value),
            strategy=cfg.strategy,
            instrument_id=bar.instrument_id,
            side=side,
            entry_price=entry,
            take_profit=take_profit,
            stop_loss=stop_loss,
            atr=atr,
            rsi=rsi,
            sma=sma,
            quantity=cfg.quantity,
            notional=cfg.quantity * entry,
            spread_bps=(bar.ask_close - bar.bid_close) * _BPS / mid,
            quote_age_ns=0,  # priced on the bar that fired it
        )


def _finest_tick(bar: BarClosed) -> Decimal:
    exponent = min(int(bar.bid_close.as_tuple().exponent), int(bar.ask_close.as_tuple().exponent))
    return Decimal(1).scaleb(exponent)
