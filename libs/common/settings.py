"""Settings shared by every service. Each service subclasses `ServiceSettings`."""
from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from libs.common.enums import Mode
from libs.common.errors import ConfigurationError


class ServiceSettings(BaseSettings):
    """Read from `TRIFECTA_*` environment variables; frozen once loaded."""

    model_config = SettingsConfigDict(env_prefix="TRIFECTA_", frozen=True, extra="ignore")

    redis_url: str = "redis://127.0.0.1:6379/0"
    mode: Mode = Mode.DEMO
    live_trading_enabled: bool = False
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=0, ge=0, le=65535)  # 0: the service's default port
    consumer: str = ""  # default: <host>-<pid>
    batch_size: int = Field(default=200, ge=1, le=10_000)
    block_ms: int = Field(default=200, ge=1)
    claim_idle_ms: int = Field(default=30_000, ge=100)
    claim_interval_ms: int = Field(default=5_000, ge=50)
    max_deliveries: int = Field(default=3, ge=1)
    log_level: str = "INFO"
    log_json: bool | None = None  # default: JSON when stderr is not a TTY

    @model_validator(mode="after")
    def _live_needs_opt_in(self) -> ServiceSettings:
        if self.mode is Mode.LIVE and not self.live_trading_enabled:
            raise ConfigurationError(
                "TRIFECTA_MODE=LIVE needs TRIFECTA_LIVE_TRADING_ENABLED=true: live trading is "
                "off unless explicitly enabled"
            )
        return self
