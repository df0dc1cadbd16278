"""`last_error()` codes of the MetaTrader5 package sorted into `libs.common.errors`.

How to react decides the class: IPC failures mean the terminal went away or stalled, so the
adapter re-initializes with backoff (TemporaryError); bad credentials, a terminal/package
version mismatch, an unknown symbol or a call the terminal does not support will not fix
themselves (ConfigurationError); the rest stops and alerts (OperationalError).
"""
from __future__ import annotations

from libs.common.errors import (
    ConfigurationError,
    OperationalError,
    TemporaryError,
    TrifectaError,
)
from services.intake.adapters.mt5 import schemas as S

ERROR_CLASSES: dict[int, type[TrifectaError]] = {
    S.RES_E_FAIL: TemporaryError,  # "Terminal: Call failed": generic, worth a retry
    S.RES_E_INVALID_PARAMS: ConfigurationError,
    S.RES_E_NO_MEMORY: OperationalError,
    S.RES_E_NOT_FOUND: ConfigurationError,  # unknown symbol (empty history is handled before)
    S.RES_E_INVALID_VERSION: ConfigurationError,
    S.RES_E_AUTH_FAILED: ConfigurationError,
    S.RES_E_UNSUPPORTED: ConfigurationError,
    S.RES_E_AUTO_TRADING_DISABLED: OperationalError,
    S.RES_E_INTERNAL_FAIL: TemporaryError,
    S.RES_E_INTERNAL_FAIL_SEND: TemporaryError,
    S.RES_E_INTERNAL_FAIL_RECEIVE: TemporaryError,
    S.RES_E_INTERNAL_FAIL_INIT: TemporaryError,
    S.RES_E_INTERNAL_FAIL_CONNECT: TemporaryError,
    S.RES_E_INTERNAL_FAIL_TIMEOUT: TemporaryError,
}


def translate_last_error(call: str, code: int, description: str) -> TrifectaError:
    """The error to raise when `call` failed and `last_error()` said (code, description).

    A failure reported with RES_S_OK (the call returned None yet claims success) is treated as
    temporary. Unknown codes stop and alert. The message names the call and the code, never
    the call's arguments (initialize carries the password).
    """
    if code == S.RES_S_OK:
        cls: type[TrifectaError] = TemporaryError
    else:
        cls = ERROR_CLASSES.get(code, OperationalError)
    return cls(f"MT5 {call} failed: last_error ({code}, {description!r})")
