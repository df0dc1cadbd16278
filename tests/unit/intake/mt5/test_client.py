"""Mt5Client against a hand-written recording stand-in for the mt5 object."""
from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr

from libs.common.errors import ConfigurationError, OperationalError, TemporaryError
from services.intake.adapters.mt5 import schemas as S
from services.intake.adapters.mt5.client import Mt5Client

T = datetime(2020, 1, 1, tzinfo=UTC)


class Recorder:
    """Answers each call with the next scripted result and records the arguments."""

    def __init__(self, **answers: Any) -> None:
        self.answers = answers
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.error = (S.RES_S_OK, "Success")

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, args, kwargs))
            answer = self.answers.get(name)
            if isinstance(answer, BaseException):
                raise answer
            if isinstance(answer, tuple) and len(answer) == 2 and answer[0] == "fail":
                self.error = answer[1]
                return None if name not in ("initialize", "symbol_select") else False
            return answer
        return call

    def last_error(self) -> tuple[int, str]:
        return self.error


@pytest.fixture
async def make() -> AsyncIterator[Any]:
    clients: list[Mt5Client] = []

    def build(mt5: Any) -> Mt5Client:
        clients.append(Mt5Client(mt5))
        return clients[-1]

    yield build
    for c in clients:
        await c.close()


async def test_initialize_without_login_passes_only_the_timeout(make: Any) -> None:
    rec = Recorder(initialize=True)
    await make(rec).initialize(path=None, login=None, password=None, server=None,
                               timeout_ms=5000)
    assert rec.calls == [("initialize", (), {"timeout": 5000})]


async def test_initialize_with_login_reveals_the_password_to_the_terminal_only(
        make: Any) -> None:
    rec = Recorder(initialize=True)
    await make(rec).initialize(path="C:/mt5/terminal64.exe", login=7,
                               password=SecretStr("s3cret"), server="Demo", timeout_ms=100)
    assert rec.calls == [("initialize", ("C:/mt5/terminal64.exe",),
                          {"timeout": 100, "login": 7, "server": "Demo", "password": "s3cret"})]


async def test_failed_initialize_raises_the_class_its_code_calls_for(make: Any) -> None:
    client = make(Recorder(initialize=("fail", (S.RES_E_AUTH_FAILED, "Authorization failed"))))
    with pytest.raises(ConfigurationError):
        await client.initialize(path=None, login=1, password=SecretStr("p"), server="s",
                                timeout_ms=1)


async def test_bridge_error_in_initialize_never_echoes_its_arguments(make: Any) -> None:
    client = make(Recorder(initialize=ValueError("mt5.initialize(password='s3cret')")))
    with pytest.raises(OperationalError) as err:
        await client.initialize(path=None, login=1, password=SecretStr("s3cret"), server="s",
                                timeout_ms=1)
    assert "s3cret" not in str(err.value) and err.value.__cause__ is None


async def test_broken_transport_is_temporary(make: Any) -> None:
    client = make(Recorder(symbols_get=EOFError("connection closed by peer")))
    with pytest.raises(TemporaryError):
        await client.symbols_get()
    client = make(Recorder(symbol_info_tick=ConnectionResetError()))
    with pytest.raises(TemporaryError):
        await client.symbol_info_tick("EURUSD")


async def test_empty_history_is_none_but_unknown_symbol_is_configuration(make: Any) -> None:
    rec = Recorder(copy_ticks_range=("fail", (S.RES_E_NOT_FOUND, "Not found")),
                   symbol_info=("fail", (S.RES_E_NOT_FOUND, "Not found")))
    client = make(rec)
    assert await client.copy_ticks_range("EURUSD", T, T) is None
    with pytest.raises(ConfigurationError):
        await client.symbol_info("XAUUSD")
    assert rec.calls[0] == ("copy_ticks_range", ("EURUSD", T, T, S.COPY_TICKS_ALL), {})


async def test_reopen_builds_the_handle_on_first_initialize() -> None:
    built: list[Recorder] = []

    def reopen() -> Recorder:
        built.append(Recorder(initialize=True))
        return built[-1]

    client = Mt5Client(None, reopen=reopen)
    try:
        await client.initialize(path=None, login=None, password=None, server=None,
                                timeout_ms=1)
        assert client.handle is built[0] and len(built) == 1
    finally:
        await client.close()
