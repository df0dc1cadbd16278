"""Settings of the MT5 adapter (`TRIFECTA_MT5_*`)."""
from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from libs.common.errors import ConfigurationError

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class Mt5Settings(BaseSettings):
    """How to reach the terminal and what to poll. Off unless `enabled`.

    `backend`: "native" imports the official MetaTrader5 package (Windows, the terminal on the
    same machine); "mt5linux" talks to an mt5linux server (`python -m mt5linux` under Wine's
    Windows Python), which is an rpyc *classic* server, i.e. remote code execution for anyone
    who reaches its port: the host must be a loopback address (tunnel it over SSH if the
    terminal runs elsewhere). `symbols` is a JSON list in the environment
    (`TRIFECTA_MT5_SYMBOLS='["EURUSD","GBPUSD"]'`); empty means every symbol of the broker.
    `server_timezone` is the IANA zone of the broker's server clock, which is how MT5 stamps
    ticks and bars (many brokers run on EET, e.g. "Europe/Athens"); "UTC" leaves times as they
    come.
    """

    model_config = SettingsConfigDict(env_prefix="TRIFECTA_MT5_", frozen=True, extra="ignore")

    enabled: bool = False
    venue: str = "MT5"
    backend: Literal["native", "mt5linux"] = "native"
    terminal_path: str | None = None  # terminal64.exe; None: the terminal already running
    login: int | None = None
    password: SecretStr | None = None
    server: str | None = None
    timeout_ms: int = Field(default=60_000, gt=0)
    mt5linux_host: str = "127.0.0.1"
    mt5linux_port: int = Field(default=18812, ge=1, le=65535)
    symbols: tuple[str, ...] = ()
    server_timezone: str = "UTC"
    poll_interval_s: float = Field(default=0.25, gt=0)
    tick_source: Literal["range", "last"] = "range"  # copy_ticks_range or symbol_info_tick
    bar_timeframe: Literal["M1", "M5", "M15", "M30", "H1", "H4", "D1"] | None = "M1"
    bar_lookback: int = Field(default=100, ge=1, le=100_000)
    initial_bars: int = Field(default=1, ge=0)  # closed bars published at start, per symbol
    reconnect_initial_s: float = Field(default=0.5, gt=0)
    reconnect_max_s: float = Field(default=30.0, gt=0)
    reconnect_max_attempts: int = Field(default=0, ge=0)  # 0: keep trying

    @model_validator(mode="after")
    def _login_needs_password_and_server(self) -> Mt5Settings:
        if self.login is not None and (self.password is None or not self.server):
            raise ConfigurationError(
                "TRIFECTA_MT5_LOGIN needs TRIFECTA_MT5_PASSWORD and TRIFECTA_MT5_SERVER")
        return self

    @model_validator(mode="after")
    def _mt5linux_only_on_loopback(self) -> Mt5Settings:
        if self.backend == "mt5linux" and self.mt5linux_host not in LOOPBACK:
            raise ConfigurationError(
                f"TRIFECTA_MT5_MT5LINUX_HOST={self.mt5linux_host!r}: the mt5linux server "
                "executes any code it is sent; reach it on a loopback address only "
                f"({sorted(LOOPBACK)}), through an SSH tunnel if it runs elsewhere")
        return self

    @model_validator(mode="after")
    def _known_timezone(self) -> Mt5Settings:
        if self.server_timezone == "UTC":  # needs no tz database (Windows has none without tzdata)
            return self
        try:
            ZoneInfo(self.server_timezone)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ConfigurationError(
                f"TRIFECTA_MT5_SERVER_TIMEZONE={self.server_timezone!r} is not an IANA zone"
            ) from e
        return self

    @model_validator(mode="after")
    def _venue_upper(self) -> Mt5Settings:
        if self.venue != self.venue.upper() or not self.venue:
            raise ConfigurationError(f"TRIFECTA_MT5_VENUE={self.venue!r} must be upper case")
        return self
