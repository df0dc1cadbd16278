"""Composition root of the OMS service.

The OMS consumer is started from the Service's producer hook rather than by the Service itself:
before consuming it must rebuild its state and take over the group's pending entries
(`services.oms.recovery`), and it writes snapshots after commits (`OmsConsumer`).
"""
from __future__ import annotations

import asyncio
from typing import Any

from libs.common.bus import Publisher
from libs.common.clock import LiveClock
from libs.common.identifiers import consumer_name
from libs.common.service import Service
from libs.common.streams import ORDERS_INTENTS, ORDERS_REPORTS, SUBSCRIPTIONS
from services.oms.config import OmsSettings
from services.oms.domain.oms import Oms
from services.oms.handlers import make_handler
from services.oms.recovery import OmsConsumer, RebuildReport, rebuild

NAME = "oms"
PORT = 8105
REPLAY_STREAMS = (ORDERS_INTENTS, ORDERS_REPORTS)


def build(settings: OmsSettings | None = None) -> Service:
    settings = settings or OmsSettings()
    oms = Oms(LiveClock(), dust=settings.dust())
    rebuilt: list[RebuildReport] = []
    streams = SUBSCRIPTIONS[NAME]

    def extra() -> dict[str, Any]:
        doc: dict[str, Any] = {
            "open_positions": len(oms.open_positions()),
            "orders": {s.value: n for s, n in oms.orders_by_status().items()},
            "held_trades": oms.held_trades,
            "totals": {e.value: {k: str(v) for k, v in vars(t).items()}
                       for e, t in oms.totals().items()},
        }
        if rebuilt:
            r = rebuilt[0]
            doc["rebuild"] = {"snapshot_used": r.snapshot_used, "replayed": r.replayed,
                              "claimed": r.claimed, "snapshot_problem": r.snapshot_problem}
        return doc

    service = Service(NAME, settings, default_port=PORT, producer=None, extra_health=extra)

    async def run_consumer(publisher: Publisher, stop: asyncio.Event) -> None:
        name = settings.consumer or consumer_name()
        rebuilt.append(await rebuild(publisher.redis, oms, group=NAME, consumer=name,
                                     streams=streams, replay_streams=REPLAY_STREAMS,
                                     snapshot_key=settings.snapshot_key))
        consumer = OmsConsumer(
            publisher.redis, group=NAME, consumer=name, streams=streams,
            handler=make_handler(oms), publisher=publisher, metrics=service.metrics,
            batch_size=settings.batch_size, block_ms=settings.block_ms,
            claim_idle_ms=settings.claim_idle_ms,
            claim_interval_ms=settings.claim_interval_ms,
            max_deliveries=settings.max_deliveries, oms=oms,
            snapshot_key=settings.snapshot_key, snapshot_every=settings.snapshot_every)
        service.consumer = consumer  # /health reports it as the service's consumer
        await consumer.run(stop)

    service.producer = run_consumer
    return service
