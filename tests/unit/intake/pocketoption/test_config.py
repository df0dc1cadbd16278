"""The ssid check behind the live gate, and the paper venue's configuration rules."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
from pydantic import SecretStr, ValidationError

from libs.common.errors import ConfigurationError
from services.intake.adapters.pocketoption.client import check_ssid_shape, require_live
from services.intake.adapters.pocketoption.config import (
    PaperAsset,
    PaperPocketOptionConfig,
    PocketOptionLiveSettings,
)
from services.intake.adapters.pocketoption.ticks import TickFormat

SECRET = "s3cr3t-session-value"


def auth(payload: object, prefix: str = "42") -> str:
    return prefix + json.dumps(["auth", payload], separators=(",", ":"))


GOOD = auth({"session": SECRET, "isDemo": 1, "uid": 12345, "platform": 2})


def test_well_formed_ssid_passes_and_is_returned_for_the_library() -> None:
    settings = PocketOptionLiveSettings(live_enabled=True, ssid=SecretStr(GOOD))
    assert require_live(settings) == GOOD


@pytest.mark.parametrize(("ssid", "why"), [
    (json.dumps({"session": SECRET, "uid": 1}), 'must start with 42\\["auth",'),
    (auth({"session": SECRET, "uid": 1})[:-1], "not valid JSON"),
    (auth(SECRET), "with one object"),
    (auth({"uid": 1}), "no non-empty 'session'"),
    (auth({"session": "", "uid": 1}), "no non-empty 'session'"),
    (auth({"session": SECRET}), "no positive integer 'uid'"),
    (auth({"session": SECRET, "uid": "abc"}), "no positive integer 'uid'"),
    (auth({"session": SECRET, "uid": 0}), "no positive integer 'uid'"),
])
def test_malformed_ssid_is_refused_without_echoing_it(ssid: str, why: str) -> None:
    with pytest.raises(ConfigurationError, match=why) as err:
        check_ssid_shape(ssid)
    assert SECRET not in str(err.value)


def test_session_token_spelling_is_accepted() -> None:
    check_ssid_shape('42["auth",{"sessionToken":"abc","uid":"77"}]')


def test_settings_hide_the_ssid_and_check_the_url_scheme() -> None:
    settings = PocketOptionLiveSettings(live_enabled=True, ssid=SecretStr(GOOD))
    assert SECRET not in repr(settings) and SECRET not in str(settings.model_dump())
    with pytest.raises(ValidationError, match="ws_url must start with ws:// or wss://"):
        PocketOptionLiveSettings(ws_url="http://127.0.0.1:1")


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIFECTA_POCKETOPTION_LIVE_ENABLED", "true")
    monkeypatch.setenv("TRIFECTA_POCKETOPTION_SSID", GOOD)
    monkeypatch.setenv("TRIFECTA_POCKETOPTION_WS_URL", "ws://127.0.0.1:9/socket.io/")
    settings = PocketOptionLiveSettings()
    assert settings.live_enabled is True
    assert settings.ssid is not None and settings.ssid.get_secret_value() == GOOD
    assert settings.ws_url == "ws://127.0.0.1:9/socket.io/"


def asset(**changes: object) -> PaperAsset:
    fields: dict[str, object] = {"symbol": "EURUSD", "name": "EUR/USD",
                                 "payout_pct": Decimal("92"), "tick_file": "x.csv",
                                 "tick_format": TickFormat.TRUEFX}
    fields.update(changes)
    return PaperAsset(**fields)  # type: ignore[arg-type]


def test_paper_defaults_are_eurusd_and_usdjpy_at_92_percent() -> None:
    config = PaperPocketOptionConfig()
    assert [(a.symbol, a.payout_pct, a.expiries_s) for a in config.assets] == [
        ("EURUSD", Decimal("92"), (60, 300, 900)), ("USDJPY", Decimal("92"), (60, 300, 900))]
    assert (config.latency_ns, config.max_quote_age_ns) == (0, None)


@pytest.mark.parametrize(("changes", "why"), [
    ({"payout_pct": Decimal("101")}, "less than or equal to 100"),
    ({"expiries_s": ()}, "non-empty list of positive seconds"),
    ({"expiries_s": (60, 0)}, "non-empty list of positive seconds"),
    ({"symbol": ""}, "at least 1 character"),
])
def test_bad_paper_assets_are_refused(changes: dict[str, object], why: str) -> None:
    with pytest.raises(ValidationError, match=why):
        asset(**changes)


def test_paper_expiries_are_sorted_and_unique_and_symbols_unique() -> None:
    assert asset(expiries_s=(900, 60, 60)).expiries_s == (60, 900)
    with pytest.raises(ValidationError, match="asset symbols must be unique"):
        PaperPocketOptionConfig(assets=(asset(), asset()))
