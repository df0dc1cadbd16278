"""Prometheus metrics every service exports, on a registry of its own."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class BusMetrics:
    def __init__(self, service: str, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.events_in = Counter("trifecta_events_in_total", "Events consumed and handled",
                                 ["service", "stream", "kind"], registry=r)
        self.events_out = Counter("trifecta_events_out_total", "Events published",
                                  ["service", "stream", "kind"], registry=r)
        self.events_failed = Counter("trifecta_events_failed_total",
                                     "Handler failures and invalid messages",
                                     ["service", "stream", "reason"], registry=r)
        self.dead_letters = Counter("trifecta_dead_letters_total", "Messages sent to the dlq",
                                    ["service", "stream"], registry=r)
        self.claimed = Counter("trifecta_claimed_total",
                               "Pending messages taken over from an idle consumer",
                               ["service", "stream"], registry=r)
        self.handler_seconds = Histogram(
            "trifecta_handler_seconds", "Handler latency per message", ["service", "stream"],
            buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2.5),
            registry=r)
        self.lag = Gauge("trifecta_consumer_lag", "Entries not yet delivered to the group",
                         ["service", "stream"], registry=r)
        self.pending = Gauge("trifecta_consumer_pending", "Delivered but not acked entries",
                             ["service", "stream"], registry=r)
        self.service = service
