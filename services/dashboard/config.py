"""Dashboard settings (`TRIFECTA_*`)."""
from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from libs.common.settings import ServiceSettings

DEFAULT_HEALTH_URLS = {name: f"http://127.0.0.1:{port}/health" for name, port in (
    ("intake", 8101), ("scanner", 8102), ("decision", 8103), ("execution", 8104),
    ("oms", 8105), ("learning", 8106))}


class DashboardSettings(ServiceSettings):
    # Bearer token for the controls; unset: the kill switch buttons are disabled (403).
    dashboard_token: SecretStr | None = None
    # service -> /health URL polled for the health panel (JSON in the environment)
    dashboard_health_urls: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_HEALTH_URLS))
    dashboard_health_interval_s: float = Field(default=2.0, gt=0)
    dashboard_last_n: int = Field(default=50, ge=1, le=1000)

    @field_validator("dashboard_token")
    @classmethod
    def _empty_token_is_none(cls, v: SecretStr | None) -> SecretStr | None:
        # compose passes `${TRIFECTA_DASHBOARD_TOKEN:-}`: empty means "not configured"
        return v if v is not None and v.get_secret_value().strip() else None

    @property
    def controls_enabled(self) -> bool:
        """True when a bearer token is configured for the kill switch controls."""
        return self.dashboard_token is not None
