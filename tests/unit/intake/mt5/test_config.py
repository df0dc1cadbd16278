from __future__ import annotations

import importlib.util

import pytest
from pydantic import SecretStr

from libs.common.errors import ConfigurationError
from services.intake.adapters.mt5 import Mt5Adapter, Mt5Settings


def test_off_unless_enabled() -> None:
    settings = Mt5Settings()
    assert settings.enabled is False
    with pytest.raises(ConfigurationError, match="TRIFECTA_MT5_ENABLED"):
        Mt5Adapter.from_settings(settings)


def test_password_never_shows_in_repr_or_dump() -> None:
    s = Mt5Settings(login=1, password=SecretStr("hunter2-secret"), server="Demo")
    assert "hunter2-secret" not in repr(s)
    assert "hunter2-secret" not in str(s.model_dump())
    assert "hunter2-secret" not in s.model_dump_json()


def test_settings_read_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIFECTA_MT5_ENABLED", "true")
    monkeypatch.setenv("TRIFECTA_MT5_LOGIN", "5000001")
    monkeypatch.setenv("TRIFECTA_MT5_PASSWORD", "pw")
    monkeypatch.setenv("TRIFECTA_MT5_SERVER", "Broker-Demo")
    monkeypatch.setenv("TRIFECTA_MT5_SYMBOLS", '["EURUSD","GBPUSD"]')
    s = Mt5Settings()
    assert (s.enabled, s.login, s.server, s.symbols) == (
        True, 5000001, "Broker-Demo", ("EURUSD", "GBPUSD"))
    assert s.password is not None and s.password.get_secret_value() == "pw"


def test_login_needs_password_and_server() -> None:
    with pytest.raises(ConfigurationError, match="PASSWORD"):
        Mt5Settings(login=1)


def test_mt5linux_bridge_only_on_loopback() -> None:
    with pytest.raises(ConfigurationError, match="loopback"):
        Mt5Settings(backend="mt5linux", mt5linux_host="10.0.0.5")
    assert Mt5Settings(backend="mt5linux", mt5linux_host="::1").mt5linux_host == "::1"


def test_unknown_server_timezone_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="IANA"):
        Mt5Settings(server_timezone="Mars/Olympus")


def test_native_backend_without_the_windows_package_says_what_to_do() -> None:
    if importlib.util.find_spec("MetaTrader5") is not None:
        pytest.skip("a MetaTrader5 package is importable here")
    with pytest.raises(ConfigurationError, match="mt5linux"):
        Mt5Adapter.from_settings(Mt5Settings(enabled=True))
