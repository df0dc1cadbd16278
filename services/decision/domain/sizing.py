"""Position sizing. Pure: figures in, a target size out; the caller never sizes above what
the opportunity was priced for (`scale_factor` caps at 1) and quantizes down.

Modes per engine: `none` (as priced), `fixed_fraction` (a fraction of equity), `kelly`
(Kelly fraction from win rate and win/loss ratio, capped), `atr` (forex: risk per trade over
the stop distance) and `binary_stake` (binary: a fraction of equity with hard caps; an optional
martingale step is off by default and capped)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum

ZERO, ONE = Decimal(0), Decimal(1)
QTY_STEP = Decimal("0.00000001")


class SizingMode(StrEnum):
    NONE = "none"
    FIXED_FRACTION = "fixed_fraction"
    KELLY = "kelly"
    ATR = "atr"
    BINARY_STAKE = "binary_stake"


@dataclass(frozen=True)
class SizingConfig:
    fraction: Decimal = Decimal("0.01")  # fixed fraction of equity per order
    kelly_max_fraction: Decimal = Decimal("0.05")
    kelly_min_trades: int = 20  # below this many trades Kelly falls back to `fraction`
    kelly_win_loss_ratio: Decimal = ONE  # average win / average loss when not stated
    risk_per_trade: Decimal = Decimal("100")  # forex ATR sizing, quote units lost at the stop
    binary_fraction: Decimal = Decimal("0.01")
    binary_min_stake: Decimal = ONE
    binary_max_stake: Decimal = Decimal("25")
    martingale: bool = False  # off by default; never above binary_max_stake
    martingale_factor: Decimal = Decimal(2)
    martingale_max_steps: int = 3


def fixed_fraction(equity: Decimal, fraction: Decimal) -> Decimal:
    """Notional to commit: `fraction` of equity, never negative."""
    return max(ZERO, equity * fraction)


def kelly_fraction(win_rate: Decimal, win_loss_ratio: Decimal, max_fraction: Decimal) -> Decimal:
    """Kelly f* = p - (1 - p) / b, clamped to [0, max_fraction]."""
    if win_loss_ratio <= 0:
        return ZERO
    f = win_rate - (ONE - win_rate) / win_loss_ratio
    return min(max(f, ZERO), max_fraction)


def atr_units(risk_per_trade: Decimal, entry: Decimal, stop_loss: Decimal) -> Decimal:
    """Forex: units such that a move from entry to the stop loses `risk_per_trade` quote."""
    distance = abs(entry - stop_loss)
    if distance == 0:
        return ZERO
    return risk_per_trade / distance


def binary_stake(equity: Decimal, cfg: SizingConfig, loss_streak: int = 0) -> Decimal:
    """Stake = fraction of equity within [min, max]; with martingale (off by default) it grows
    by `martingale_factor` per consecutive loss for at most `martingale_max_steps`, and is still
    capped at `binary_max_stake`. Below the minimum stake, 0 (do not trade)."""
    stake = equity * cfg.binary_fraction
    if cfg.martingale and loss_streak > 0:
        stake *= cfg.martingale_factor ** min(loss_streak, cfg.martingale_max_steps)
    stake = min(stake, cfg.binary_max_stake)
    return stake if stake >= cfg.binary_min_stake else ZERO


def scale_factor(target: Decimal, priced: Decimal) -> Decimal:
    """Share of the priced size to take: target / priced within [0, 1]."""
    if priced <= 0:
        return ZERO
    return min(ONE, max(ZERO, target / priced))


def quantize_down(qty: Decimal, step: Decimal | None = None) -> Decimal:
    """Round a quantity down to `step` (a lot size) or to 1e-8."""
    step = step or QTY_STEP
    return (qty / step).to_integral_value(rounding=ROUND_DOWN) * step
