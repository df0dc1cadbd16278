from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from libs.common.settings import ServiceSettings
from services.execution.domain.latency import LatencyModel
from services.execution.domain.paper import DEFAULT_MAKER_FEES, DEFAULT_TAKER_FEES, PaperConfig
from services.execution.domain.unwind import ImbalanceConfig, ImbalancePolicy


class ExecutionSettings(ServiceSettings):
    # per-venue one-way latency before an order reaches the book, in ms
    latency_ms: dict[str, float] = Field(default_factory=dict)
    default_latency_ms: float = Field(default=50.0, ge=0)
    # TRIFECTA_FEES='{"BINANCE": {"taker": "0.00075"}}': the same variable the scanner reads
    fees_override: dict[str, dict[str, Decimal]] = Field(default_factory=dict,
                                                         alias="TRIFECTA_FEES")
    book_history_s: float = Field(default=30.0, gt=0)
    # resting limit orders expire this long after reaching the venue (< book_history_s)
    limit_tif_s: float = Field(default=10.0, gt=0)
    # unevenly filled multi-leg intents: UNWIND_AT_MARKET | HEDGE | RETRY_UNTIL
    imbalance_policy: ImbalancePolicy = ImbalancePolicy.UNWIND_AT_MARKET
    retry_interval_s: float = Field(default=1.0, gt=0)
    retry_window_s: float = Field(default=5.0, ge=0)

    def paper(self) -> PaperConfig:
        base = LatencyModel()
        per_venue = dict(base.per_venue_ns)
        per_venue.update({v: int(ms * 1_000_000) for v, ms in self.latency_ms.items()})
        return PaperConfig(
            latency=LatencyModel(per_venue_ns=per_venue,
                                 default_ns=int(self.default_latency_ms * 1_000_000)),
            taker_fees={**DEFAULT_TAKER_FEES,
                        **{v: r["taker"] for v, r in self.fees_override.items() if "taker" in r}},
            maker_fees={**DEFAULT_MAKER_FEES,
                        **{v: r["maker"] for v, r in self.fees_override.items() if "maker" in r}},
            book_history_ns=int(self.book_history_s * 1e9),
            limit_tif_ns=int(self.limit_tif_s * 1e9),
            imbalance=ImbalanceConfig(policy=self.imbalance_policy,
                                      retry_interval_ns=int(self.retry_interval_s * 1e9),
                                      retry_window_ns=int(self.retry_window_s * 1e9)))
