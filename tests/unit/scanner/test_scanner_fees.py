from decimal import Decimal as D

import pytest

from libs.common.errors import ConfigurationError
from services.scanner.domain.fees import BINANCE_VIP0, FeeRates, FeeSchedule


def test_default_schedule_is_binance_vip0_without_bnb_discount() -> None:
    fees = FeeSchedule()
    assert fees.rates("BINANCE") == FeeRates(taker=D("0.001"), maker=D("0.001"))
    assert fees.rates("BINANCE_USDM") == FeeRates(taker=D("0.0005"), maker=D("0.0002"))
    assert fees.rates("BINANCE_COINM") == FeeRates(taker=D("0.0005"), maker=D("0.0002"))


def test_fee_is_rate_times_notional_in_quote_units() -> None:
    fees = FeeSchedule()
    assert fees.fee("BINANCE", D("618.3763")) == D("0.6183763")
    assert fees.fee("BINANCE_USDM", D("61800"), "taker") == D("30.9")
    assert fees.fee("BINANCE_USDM", D("61800"), "maker") == D("12.36")


def test_settings_override_one_rate_and_keep_the_other() -> None:
    fees = FeeSchedule.from_settings({"BINANCE": {"taker": "0.00075"}})
    assert fees.rates("BINANCE") == FeeRates(taker=D("0.00075"), maker=D("0.001"))
    assert fees.rates("BINANCE_USDM") == BINANCE_VIP0["BINANCE_USDM"]


def test_float_rates_from_settings_become_their_decimal_text() -> None:
    fees = FeeSchedule.from_settings({"BINANCE_USDM": {"taker": 0.0004, "maker": -0.00005}})
    assert fees.rates("BINANCE_USDM") == FeeRates(taker=D("0.0004"), maker=D("-0.00005"))


def test_new_venue_from_settings_needs_both_rates() -> None:
    fees = FeeSchedule.from_settings({"KRAKEN": {"taker": "0.0026", "maker": "0.0016"}})
    assert fees.rate("KRAKEN") == D("0.0026")
    with pytest.raises(ConfigurationError):
        FeeSchedule.from_settings({"OKX": {"taker": "0.001"}})


def test_unknown_venue_is_a_configuration_error_not_a_free_trade() -> None:
    with pytest.raises(ConfigurationError):
        FeeSchedule().fee("NOWHERE", D(100))


@pytest.mark.parametrize("bad", [{"taker": "0.1"}, {"taker": "abc"}, {"taker": "NaN"},
                                 {"taker": "0.001", "rebate": "0.0001"}])
def test_rates_that_look_like_percentages_or_junk_fail_at_start_up(bad: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError):
        FeeSchedule.from_settings({"BINANCE": bad})
