"""Calls into an `mt5`-like object, one at a time, off the event loop.

The object is the official `MetaTrader5` module (Windows), an mt5linux `MetaTrader5(host,
port)` client (Linux, terminal under Wine) or the fake terminal in tests: the same functions
with the same arguments. Its calls block (IPC to the terminal, or a network round trip), and
the package is not thread-safe, so they run on one dedicated thread. A failed call (None, or
False for the bool calls) is turned into the `libs.common.errors` class its `last_error()`
code calls for; a broken transport (OSError, EOFError: the mt5linux server went away) is a
TemporaryError, and the next `initialize` builds a new handle with `reopen` when one is given.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from pydantic import SecretStr

from libs.common.errors import OperationalError, TemporaryError, TrifectaError
from services.intake.adapters.mt5 import schemas as S
from services.intake.adapters.mt5.errors import translate_last_error

logger = logging.getLogger(__name__)

_BOOL_CALLS = frozenset({"initialize", "login", "symbol_select"})
_SECRET_CALLS = frozenset({"initialize", "login"})  # their arguments hold the password
_TRANSPORT_ERRORS = (OSError, EOFError)


class _Failed:
    """A failed call's last_error(), carried out of the worker thread."""

    __slots__ = ("code", "description")

    def __init__(self, code: int, description: str) -> None:
        self.code, self.description = code, description


class Mt5Client:
    """The MetaTrader5 calls the adapter makes, named after the package's functions."""

    def __init__(self, mt5: Any | None, *, reopen: Callable[[], Any] | None = None) -> None:
        if mt5 is None and reopen is None:
            raise ValueError("Mt5Client needs an mt5 object or a reopen() that makes one")
        self._mt5 = mt5
        self._reopen = reopen
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mt5")
        self._closed = False

    @property
    def handle(self) -> Any | None:
        """The mt5 object in use (None until `reopen` made one)."""
        return self._mt5

    # -- calls ----------------------------------------------------------------------------
    async def initialize(self, *, path: str | None, login: int | None,
                         password: SecretStr | None, server: str | None,
                         timeout_ms: int) -> None:
        """Attach to the terminal (and log in when `login` is set).

        Only the arguments that are set are passed: the package refuses `path=None` from some
        bridges, and login/password/server go together or not at all.
        """
        args: tuple[Any, ...] = (path,) if path else ()
        kwargs: dict[str, Any] = {"timeout": timeout_ms}
        if login is not None:
            kwargs.update(login=login, server=server,
                          password=password.get_secret_value() if password else None)
        if self._mt5 is None:
            try:
                await self._run_raw(self._make_handle)
            except TrifectaError:
                raise
            except Exception as e:  # the bridge refused us for another reason than the network
                raise OperationalError(f"MT5 bridge could not be opened: "
                                       f"{type(e).__name__}: {e}") from e
        await self._call("initialize", *args, **kwargs)

    async def shutdown(self) -> None:
        """Detach from the terminal; errors are ignored (it may be gone already)."""
        if self._mt5 is None:
            return
        try:
            await self._run_raw(self._mt5.shutdown)
        except (TrifectaError, *_TRANSPORT_ERRORS) as e:
            logger.debug("mt5 shutdown failed: %s", type(e).__name__)

    async def symbols_get(self) -> Any:
        """Every symbol the broker offers, as SymbolInfo tuples."""
        return await self._call("symbols_get")

    async def symbol_info(self, symbol: str) -> Any:
        """One symbol's SymbolInfo; ConfigurationError if the broker has no such symbol."""
        return await self._call("symbol_info", symbol)

    async def symbol_select(self, symbol: str) -> None:
        """Add the symbol to Market Watch: the terminal only streams selected symbols."""
        await self._call("symbol_select", symbol, True)

    async def symbol_info_tick(self, symbol: str) -> Any:
        """The symbol's latest Tick."""
        return await self._call("symbol_info_tick", symbol)

    async def copy_rates_from_pos(self, symbol: str, timeframe: int, start_pos: int,
                                  count: int) -> Any | None:
        """Bars ending `start_pos` back (0 = forming); None when the terminal has none."""
        return await self._call("copy_rates_from_pos", symbol, timeframe, start_pos, count,
                                empty_ok=True)

    async def copy_ticks_range(self, symbol: str, date_from: datetime, date_to: datetime,
                               flags: int = S.COPY_TICKS_ALL) -> Any | None:
        """Ticks in [date_from, date_to]; None when the terminal has none."""
        return await self._call("copy_ticks_range", symbol, date_from, date_to, flags,
                                empty_ok=True)

    async def close(self) -> None:
        """Stop the worker thread; idempotent."""
        if not self._closed:
            self._closed = True
            self._executor.shutdown(wait=False, cancel_futures=True)

    # -- plumbing -------------------------------------------------------------------------
    def _make_handle(self) -> None:
        assert self._reopen is not None
        self._mt5 = self._reopen()

    async def _run_raw(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self._closed:
            raise OperationalError("MT5 client is closed")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))
        except _TRANSPORT_ERRORS as e:
            self._lost(type(e).__name__)
            raise TemporaryError(f"MT5 transport lost ({type(e).__name__})") from e

    async def _call(self, name: str, *args: Any, empty_ok: bool = False, **kwargs: Any) -> Any:
        if self._mt5 is None:
            raise TemporaryError(f"MT5 {name}: not connected")
        mt5 = self._mt5

        def work() -> Any:
            result = getattr(mt5, name)(*args, **kwargs)
            failed = result is None or (name in _BOOL_CALLS and result is False)
            if not failed:
                return result
            err = mt5.last_error()
            return _Failed(int(err[0]), str(err[1]))

        try:
            result = await self._run_raw(work)
        except TrifectaError:
            raise
        except Exception as e:  # a bridge's remote error: never echo initialize's arguments
            detail = type(e).__name__ if name in _SECRET_CALLS else f"{type(e).__name__}: {e}"
            raise OperationalError(f"MT5 {name} raised {detail}") from (
                None if name in _SECRET_CALLS else e)
        if isinstance(result, _Failed):
            if empty_ok and result.code in (S.RES_S_OK, S.RES_E_NOT_FOUND):
                return None
            raise translate_last_error(name, result.code, result.description)
        return result

    def _lost(self, why: str) -> None:
        logger.warning("mt5 transport lost (%s)", why)
        if self._reopen is not None:
            self._mt5 = None  # the next initialize() builds a new handle
