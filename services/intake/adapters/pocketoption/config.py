"""Settings of the Pocket Option adapters: the gated live connection and the DEMO paper venue.

Live is off unless `live_enabled=True` and an `ssid` are given (env `TRIFECTA_POCKETOPTION_*`);
`client.require_live` turns a missing piece into a ConfigurationError at start-up. The paper
venue's asset list, payouts and expiries are configuration, not broker data: the defaults below
are placeholders chosen for DEMO runs (README.md), and the prices come from recorded ticks.
"""
from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.intake.adapters.pocketoption.ticks import PriceSource, TickFormat

DEFAULT_EXPIRIES_S: tuple[int, ...] = (60, 300, 900)
DEFAULT_PAYOUT_PCT = Decimal("92")


class PocketOptionLiveSettings(BaseSettings):
    """The live connection through BinaryOptionsToolsV2.

    - `live_enabled`: the explicit opt-in; nothing connects without it.
    - `ssid`: the session frame `42["auth",{"session":...,"uid":...,...}]` copied from a logged
      in browser (a secret: it authenticates as the account).
    - `ws_url`: a websocket URL to try first (tests point it at the local simulator). The
      library falls back to Pocket Option's regional servers when it cannot connect there.
    """

    model_config = SettingsConfigDict(env_prefix="TRIFECTA_POCKETOPTION_", frozen=True,
                                      extra="ignore")

    live_enabled: bool = False
    ssid: SecretStr | None = None
    ws_url: str | None = None
    connect_timeout_s: float = Field(default=30.0, gt=0)
    reconnect_time_s: int = Field(default=5, ge=1, description="library reconnect wait")
    queue_size: int = Field(default=10_000, ge=1, description="events buffered for stream()")

    @field_validator("ws_url")
    @classmethod
    def _ws_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("ws://", "wss://")):
            raise ValueError("ws_url must start with ws:// or wss://")
        return value


class PaperAsset(BaseModel):
    """One asset of the paper venue and the recorded file its prices come from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    symbol: str = Field(min_length=1)
    name: str
    payout_pct: Decimal = Field(ge=0, le=100)
    expiries_s: tuple[int, ...] = DEFAULT_EXPIRIES_S
    active: bool = True
    is_otc: bool = False
    tick_file: str = Field(description="path under data/recorded/")
    tick_format: TickFormat

    @field_validator("expiries_s")
    @classmethod
    def _expiries(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or any(v <= 0 for v in value):
            raise ValueError("expiries_s must be a non-empty list of positive seconds")
        return tuple(sorted(set(value)))


DEFAULT_PAPER_ASSETS: tuple[PaperAsset, ...] = (
    PaperAsset(symbol="EURUSD", name="EUR/USD", payout_pct=DEFAULT_PAYOUT_PCT,
               tick_file="forex/nautilus_sim_2019/eurusd_ticks_2019-01-01T23_decoded.csv",
               tick_format=TickFormat.NAUTILUS_DECODED),
    PaperAsset(symbol="USDJPY", name="USD/JPY", payout_pct=DEFAULT_PAYOUT_PCT,
               tick_file="forex/nautilus_sim_2019/usdjpy_ticks_2019-01-01T23_decoded.csv",
               tick_format=TickFormat.NAUTILUS_DECODED),
)


class PaperPocketOptionConfig(BaseModel):
    """The DEMO venue: assets, the order latency and which price of a tick settles options.

    `latency_ns` defaults to 0 because no measurement of Pocket Option's order latency exists
    here; set it from live `openTimestamp - request time` when one does. `price_source` MID: the
    broker streams one price per tick, and the recorded ticks have bid and ask.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    assets: tuple[PaperAsset, ...] = DEFAULT_PAPER_ASSETS
    latency_ns: int = Field(default=0, ge=0)
    max_quote_age_ns: int | None = Field(default=None, ge=0)
    price_source: PriceSource = PriceSource.MID

    @model_validator(mode="after")
    def _unique_symbols(self) -> PaperPocketOptionConfig:
        symbols = [a.symbol for a in self.assets]
        if len(set(symbols)) != len(symbols):
            raise ValueError(f"asset symbols must be unique: {symbols}")
        return self
