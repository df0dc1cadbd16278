from __future__ import annotations

from decimal import Decimal as D

from services.decision.domain.sizing import (
    SizingConfig,
    atr_units,
    binary_stake,
    fixed_fraction,
    kelly_fraction,
    quantize_down,
    scale_factor,
)


def test_fixed_fraction_of_equity() -> None:
    assert fixed_fraction(D("25000"), D("0.02")) == D("500")
    assert fixed_fraction(D("-5"), D("0.02")) == 0


def test_kelly_fraction_is_capped_and_never_negative() -> None:
    # p = 0.6, b = 1: f* = 0.6 - 0.4 = 0.2, capped at 0.05
    assert kelly_fraction(D("0.6"), D("1"), D("0.05")) == D("0.05")
    # p = 0.55, b = 2: f* = 0.55 - 0.225 = 0.325
    assert kelly_fraction(D("0.55"), D("2"), D("1")) == D("0.325")
    assert kelly_fraction(D("0.4"), D("1"), D("0.05")) == 0


def test_atr_sizing_risks_the_stated_amount_at_the_stop() -> None:
    # 100 USD over a 0.00075 stop distance: 133333.33 units
    units = atr_units(D("100"), D("1.57600"), D("1.57525"))
    assert quantize_down(units, D("0.01")) == D("133333.33")
    assert atr_units(D("100"), D("1.5"), D("1.5")) == 0


def test_binary_stake_has_hard_caps_and_no_martingale_by_default() -> None:
    cfg = SizingConfig(binary_fraction=D("0.01"), binary_min_stake=D("1"),
                       binary_max_stake=D("25"))
    assert binary_stake(D("1000"), cfg, loss_streak=4) == D("10")  # no growth after losses
    assert binary_stake(D("100000"), cfg) == D("25")  # capped
    assert binary_stake(D("50"), cfg) == 0  # below the minimum stake: no trade


def test_martingale_when_enabled_is_bounded_by_steps_and_max_stake() -> None:
    cfg = SizingConfig(binary_fraction=D("0.01"), binary_max_stake=D("50"), martingale=True,
                       martingale_factor=D("2"), martingale_max_steps=2)
    assert binary_stake(D("1000"), cfg, loss_streak=1) == D("20")
    assert binary_stake(D("1000"), cfg, loss_streak=5) == D("40")  # 2 steps at most
    assert binary_stake(D("2000"), cfg, loss_streak=5) == D("50")  # max stake


def test_scale_never_above_what_was_priced_and_quantize_rounds_down() -> None:
    assert scale_factor(D("2000"), D("1000")) == 1
    assert scale_factor(D("250"), D("1000")) == D("0.25")
    assert scale_factor(D("1"), D("0")) == 0
    assert quantize_down(D("0.123456789")) == D("0.12345678")
    assert quantize_down(D("1234.9"), D("100")) == D("1200")
