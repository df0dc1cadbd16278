from __future__ import annotations

import pytest

from libs.common.errors import (
    ConfigurationError,
    OperationalError,
    TemporaryError,
    TrifectaError,
)
from services.intake.adapters.mt5 import schemas as S
from services.intake.adapters.mt5.errors import translate_last_error


@pytest.mark.parametrize("code", [
    S.RES_E_INTERNAL_FAIL, S.RES_E_INTERNAL_FAIL_SEND, S.RES_E_INTERNAL_FAIL_RECEIVE,
    S.RES_E_INTERNAL_FAIL_INIT, S.RES_E_INTERNAL_FAIL_CONNECT, S.RES_E_INTERNAL_FAIL_TIMEOUT,
    S.RES_E_FAIL,
])
def test_ipc_failures_are_temporary(code: int) -> None:
    assert type(translate_last_error("copy_ticks_range", code, "x")) is TemporaryError


@pytest.mark.parametrize("code", [
    S.RES_E_AUTH_FAILED, S.RES_E_INVALID_VERSION, S.RES_E_INVALID_PARAMS, S.RES_E_NOT_FOUND,
    S.RES_E_UNSUPPORTED,
])
def test_what_retrying_cannot_fix_is_configuration(code: int) -> None:
    assert type(translate_last_error("initialize", code, "x")) is ConfigurationError


@pytest.mark.parametrize("code", [S.RES_E_NO_MEMORY, S.RES_E_AUTO_TRADING_DISABLED, -12345])
def test_memory_auto_trading_and_unknown_codes_stop_and_alert(code: int) -> None:
    assert type(translate_last_error("order_send", code, "x")) is OperationalError


def test_none_with_success_code_is_temporary() -> None:
    assert type(translate_last_error("symbol_info_tick", S.RES_S_OK, "Success")) is TemporaryError


def test_error_names_call_and_code() -> None:
    err = translate_last_error("initialize", S.RES_E_AUTH_FAILED, "Terminal: Authorization failed")
    assert isinstance(err, TrifectaError)
    assert "initialize" in str(err) and "-6" in str(err)
