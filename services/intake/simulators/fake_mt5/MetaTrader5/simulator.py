"""Controls of the fake terminal, for tests (not part of the real MetaTrader5 API).

In-process: `MetaTrader5.simulator.advance(60)`. Behind an mt5linux server: open a second rpyc
classic connection and call `conn.modules.MetaTrader5.simulator.advance(60)`; the server's
threads share the module, so the client sees the change.
"""
from __future__ import annotations

from pathlib import Path

from ._terminal import Terminal

TERMINAL = Terminal()


def configure(*, data_dir: str | Path | None = None, dataset: str | None = None,
              speed: float | None = None, server_utc_offset_s: int = 0,
              elapsed_s: float = 0.0) -> None:
    """Start over: disconnected, clock at `elapsed_s`, no injected errors, default account.

    `data_dir` defaults to $TRIFECTA_FAKE_MT5_DATA_DIR, then the repo's data/recorded;
    `dataset` to $TRIFECTA_FAKE_MT5_DATASET, then "default"; `speed` (simulated seconds per
    wall second, 0 = only `advance()` moves time) to $TRIFECTA_FAKE_MT5_SPEED, then 0.
    """
    TERMINAL.reset(data_dir_path=data_dir, dataset=dataset, speed=speed,
                   server_utc_offset_s=server_utc_offset_s, elapsed_s=elapsed_s)


def advance(seconds: float) -> None:
    """Move the simulated clock forward: ticks and bars of that span arrive."""
    TERMINAL.advance(seconds)


def set_speed(speed: float) -> None:
    """Let simulated time run at `speed` x wall time from now on (0 stops it)."""
    TERMINAL.set_speed(speed)


def elapsed_s() -> float:
    """Simulated seconds since the recordings started."""
    return TERMINAL.elapsed_ms() / 1000


def now_ms(symbol: str) -> int:
    """The UTC ms a symbol's recording has reached."""
    return TERMINAL.now_ms(symbol)


def drop(refuse_initialize: int = 0) -> None:
    """The terminal goes away: every call fails with RES_E_INTERNAL_FAIL_CONNECT until
    `initialize()` succeeds; the next `refuse_initialize` attempts fail first."""
    TERMINAL.drop(refuse_initialize)


def fail_next(function: str, code: int, times: int = 1) -> None:
    """The next `times` calls of `function` fail with last_error `code`."""
    TERMINAL.fail_next(function, code, times)


def set_account(login: int, password: str | None, server: str) -> None:
    """The account `initialize(login=..., password=..., server=...)` must name."""
    TERMINAL.set_account(login, password, server)


def calls(function: str) -> int:
    """How many times `function` was called since the last `configure()`."""
    return TERMINAL.calls[function]


def is_connected() -> bool:
    """True while a client is initialized and the terminal is reachable."""
    return TERMINAL.initialized
