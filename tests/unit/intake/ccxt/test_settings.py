"""CcxtVenueSettings: named checks, ids, secrets kept out of reprs."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.intake.adapters.ccxt.settings import CcxtVenueSettings

LOCAL = "http://127.0.0.1:8701"


def test_symbols_become_instrument_ids_of_the_venue() -> None:
    s = CcxtVenueSettings(venue="BITSTAMP", symbols=("ETH/USD", "BTC/EUR.BITSTAMP"),
                          base_url=LOCAL)
    assert s.instrument_ids == ["ETH/USD.BITSTAMP", "BTC/EUR.BITSTAMP"]
    assert s.ccxt_id == "bitstamp" and s.depth == 20


def test_coinbase_is_ccxts_coinbaseexchange() -> None:
    assert CcxtVenueSettings(venue="COINBASE", base_url=LOCAL).ccxt_id == "coinbaseexchange"


@pytest.mark.parametrize(("kwargs", "why"), [
    ({"venue": "BINANCE"}, "allow_live"),
    ({"venue": "binance", "base_url": LOCAL}, "upper case"),
    ({"venue": "FTX", "base_url": LOCAL}, "not one of"),
    ({"venue": "BINANCE", "allow_live": True, "sandbox": True, "base_url": LOCAL}, "sandbox"),
    ({"venue": "BINANCE", "base_url": LOCAL, "api_key": "k"}, "both api_key"),
    ({"venue": "BINANCE", "base_url": LOCAL, "symbols": ("ETH/USD.KRAKEN",)}, "not an instr"),
    ({"venue": "BINANCE", "base_url": LOCAL, "symbols": ("ETHUSD",)}, "BASE/QUOTE"),
    ({"venue": "BINANCE", "base_url": LOCAL, "backoff_initial_s": 5, "backoff_max_s": 1},
     "backoff_max_s"),
])
def test_wrong_settings_fail_with_the_named_reason(kwargs: dict[str, object], why: str) -> None:
    with pytest.raises(ValidationError, match=why):
        CcxtVenueSettings(**kwargs)  # type: ignore[arg-type]


def test_live_venue_needs_the_explicit_opt_in() -> None:
    assert CcxtVenueSettings(venue="KRAKEN", allow_live=True).base_url is None


def test_secrets_never_show_in_repr_or_json() -> None:
    s = CcxtVenueSettings(venue="OKX", base_url=LOCAL, api_key="key-123", api_secret="sec-456")
    for text in (repr(s), str(s), s.model_dump_json()):
        assert "key-123" not in text and "sec-456" not in text
    assert s.secrets() == ("key-123", "sec-456")
