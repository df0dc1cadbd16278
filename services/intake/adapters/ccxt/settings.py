"""Settings of one ccxt venue connection."""
from __future__ import annotations

from typing import Self

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr, model_validator

# Our venue name -> ccxt exchange id. COINBASE is the retired Coinbase Pro API, which ccxt
# keeps as `coinbaseexchange` (the recorded data is Coinbase Pro's).
CCXT_IDS: dict[str, str] = {
    "BINANCE": "binance",
    "KRAKEN": "kraken",
    "OKX": "okx",
    "BITSTAMP": "bitstamp",
    "COINBASE": "coinbaseexchange",
    "POLONIEX": "poloniex",
}


class CcxtVenueSettings(BaseModel):
    """One venue: what to stream and where from.

    Market data needs no keys. A connection to the venue itself is off unless `allow_live`;
    otherwise `base_url` must name a local server that speaks the venue's protocol (REST and
    websocket on the same host and port, at the venue's own paths). Keys, when given, are
    passed to ccxt only for a live connection, and never appear in a repr, log or error.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    venue: str = Field(description="our venue name, upper case: " + ", ".join(CCXT_IDS))
    symbols: tuple[str, ...] = Field(
        default=(), description="instrument ids (`ETH/USD.BITSTAMP`) or ccxt symbols (`ETH/USD`)")
    api_key: SecretStr | None = None
    api_secret: SecretStr | None = None
    base_url: AnyHttpUrl | None = Field(
        default=None, description="local server root, e.g. http://127.0.0.1:8701")
    allow_live: bool = Field(default=False, description="connect to the venue itself")
    sandbox: bool = Field(default=False, description="the venue's test environment (live only)")
    depth: int = Field(default=20, ge=1, le=1000, description="levels per side published")
    watch_limit: int | None = Field(
        default=None, ge=1, description="depth asked of the venue; default: the venue's")
    timeout_ms: int = Field(default=10_000, ge=100)
    backoff_initial_s: float = Field(default=0.5, ge=0)
    backoff_max_s: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _known_upper_case_venue(self) -> Self:
        if self.venue not in CCXT_IDS:
            raise ValueError(f"venue {self.venue!r} is not one of {sorted(CCXT_IDS)} "
                             "(upper case)")
        return self

    @model_validator(mode="after")
    def _live_needs_opt_in(self) -> Self:
        if self.base_url is None and not self.allow_live:
            raise ValueError(f"{self.venue}: no base_url and allow_live is false; set base_url "
                             "to a local server or allow_live=true to reach the venue")
        return self

    @model_validator(mode="after")
    def _sandbox_is_a_live_venue(self) -> Self:
        if self.sandbox and self.base_url is not None:
            raise ValueError(f"{self.venue}: sandbox and base_url exclude each other")
        return self

    @model_validator(mode="after")
    def _keys_come_in_pairs(self) -> Self:
        if (self.api_key is None) != (self.api_secret is None):
            raise ValueError(f"{self.venue}: give both api_key and api_secret, or neither")
        return self

    @model_validator(mode="after")
    def _symbols_name_this_venue(self) -> Self:
        for s in self.symbols:
            if "." in s and not s.endswith(f".{self.venue}"):
                raise ValueError(f"symbol {s!r} is not an instrument of {self.venue}")
            if s.removesuffix(f".{self.venue}").count("/") != 1:
                raise ValueError(f"symbol {s!r}: expected BASE/QUOTE or BASE/QUOTE.{self.venue}")
        return self

    @model_validator(mode="after")
    def _backoff_cap_above_start(self) -> Self:
        if self.backoff_max_s < self.backoff_initial_s:
            raise ValueError("backoff_max_s must be >= backoff_initial_s")
        return self

    @property
    def ccxt_id(self) -> str:
        return CCXT_IDS[self.venue]

    @property
    def instrument_ids(self) -> list[str]:
        """`symbols` as instrument ids (`BASE/QUOTE.VENUE`)."""
        suffix = f".{self.venue}"
        return [s if s.endswith(suffix) else s + suffix for s in self.symbols]

    def secrets(self) -> tuple[str, ...]:
        """The secret values, for scrubbing error texts; empty when none are set."""
        return tuple(s.get_secret_value() for s in (self.api_key, self.api_secret) if s)
