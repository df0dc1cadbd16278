from __future__ import annotations

import pytest

from libs.common.errors import ConfigurationError
from services.execution.domain.latency import MS, LatencyModel


def test_default_model_delays_crypto_venues_50ms_and_fxcm_not_at_all() -> None:
    model = LatencyModel()
    assert model.latency_ns("BINANCE") == 50 * MS
    assert model.latency_ns("BINANCE_USDM") == 50 * MS
    assert model.latency_ns("BINANCE_COINM") == 50 * MS
    assert model.latency_ns("FXCM") == 0


def test_unlisted_venue_gets_the_default_latency() -> None:
    assert LatencyModel(per_venue_ns={}, default_ns=7 * MS).latency_ns("KRAKEN") == 7 * MS


def test_due_time_is_signal_time_plus_the_venue_latency() -> None:
    model = LatencyModel(per_venue_ns={"BINANCE": 20 * MS})
    assert model.due_ns(1_000 * MS, "BINANCE") == 1_020 * MS


def test_negative_latency_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        LatencyModel(per_venue_ns={"BINANCE": -1})
    with pytest.raises(ConfigurationError):
        LatencyModel(default_ns=-1)


def test_model_is_immutable_after_construction() -> None:
    venues = {"BINANCE": 5 * MS}
    model = LatencyModel(per_venue_ns=venues)
    venues["BINANCE"] = 0
    assert model.latency_ns("BINANCE") == 5 * MS
