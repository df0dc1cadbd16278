"""Settings of the DEX pool adapter: an RPC URL per chain (a secret) and the pools to poll.

Read from the environment with the `TRIFECTA_DEX_` prefix; dict fields are JSON, and chains
may be named or numbered::

    TRIFECTA_DEX_RPC_URLS='{"ARBITRUM": "https://arb-mainnet.example/v2/<key>"}'
    TRIFECTA_DEX_POOLS='{"ARBITRUM": [{"address": "0x...", "fee_bps": 30}]}'

RPC URLs often embed an API key, so they are `SecretStr`: they never appear in a repr, a log
line, an event or an error message (errors name the endpoint as `scheme://host` only).
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from libs.common.amm import FEE_DENOMINATOR, UNISWAP_V2_FEE_BPS
from libs.common.enums import ChainId
from libs.common.errors import ConfigurationError

VENUE_PREFIX = "DEX_"


def venue_name(chain: ChainId) -> str:
    """Our venue name for a chain's pools, e.g. `DEX_ARBITRUM`."""
    return f"{VENUE_PREFIX}{ChainId(chain).name}"


def parse_chain(value: object) -> ChainId:
    """A ChainId from its number (int or digits) or its name (any case); ConfigurationError else."""
    if isinstance(value, ChainId):
        return value
    try:
        if isinstance(value, int) and not isinstance(value, bool):
            return ChainId(value)
        if isinstance(value, str):
            text = value.strip()
            return ChainId(int(text)) if text.isdigit() else ChainId[text.upper()]
    except (KeyError, ValueError):
        pass
    known = ", ".join(f"{c.name}={c.value}" for c in ChainId)
    raise ConfigurationError(f"unknown chain {value!r}; known: {known}")


def redact_url(url: str) -> str:
    """`scheme://host[:port]` of an RPC URL: what logs and errors may show of it."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<unparseable url>"
    return f"{parts.scheme or '?'}://{host}{port}"


def is_hex_address(text: str) -> bool:
    """0x followed by 40 hex digits (checksum not enforced here; it is applied when used)."""
    if len(text) != 42 or not text.startswith(("0x", "0X")):
        return False
    try:
        int(text[2:], 16)
    except ValueError:
        return False
    return True


class PoolConfig(BaseModel):
    """One V2-style pool to poll. Token symbols and decimals are read from the chain."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    address: str
    fee_bps: int = Field(default=UNISWAP_V2_FEE_BPS, ge=0, lt=FEE_DENOMINATOR,
                         description="swap fee in basis points; V2 pairs do not expose it")
    label: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_]{1,24}$",
                              description="distinguishes two pools of the same tokens: "
                                          "WETH/USDC-SUSHI.DEX_ARBITRUM")

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        if not is_hex_address(value):
            raise ValueError("pool address must be 0x followed by 40 hex digits")
        return value


class DexSettings(BaseSettings):
    """RPC endpoints and pools per chain. A chain without a URL is not polled."""

    model_config = SettingsConfigDict(env_prefix="TRIFECTA_DEX_", frozen=True, extra="ignore")

    rpc_urls: dict[ChainId, SecretStr] = Field(default_factory=dict)
    pools: dict[ChainId, tuple[PoolConfig, ...]] = Field(default_factory=dict)
    poll_interval_s: float = Field(default=1.0, gt=0, le=3600)
    request_timeout_s: float = Field(default=10.0, gt=0, le=300)
    max_backoff_s: float = Field(default=30.0, gt=0, le=3600)
    only_on_change: bool = Field(default=False, description="emit a pool only when its "
                                                            "reserves changed, not every block")

    @field_validator("rpc_urls", "pools", mode="before")
    @classmethod
    def _chain_keys(cls, value: Any) -> Any:
        # Accept {"ARBITRUM": ...} and {"42161": ...}; the error names the key, never the URL.
        if isinstance(value, dict):
            return {parse_chain(k): v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _urls_are_http(self) -> DexSettings:
        for chain, url in self.rpc_urls.items():
            parts = urlsplit(url.get_secret_value())
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ConfigurationError(
                    f"TRIFECTA_DEX_RPC_URLS[{chain.name}] must be an http(s) URL with a host "
                    "(websocket endpoints are not supported by this adapter)")
        return self

    def polled_chains(self) -> list[ChainId]:
        """Chains that have both an RPC URL and at least one pool, in ChainId order."""
        return [c for c in ChainId if c in self.rpc_urls and self.pools.get(c)]
