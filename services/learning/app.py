"""Composition root of the learning service.

State (policy version, per-strategy statistics, the outcome ledger) lives in memory and is
rebuilt at start by replaying the service's input streams up to the group's last-delivered id
(`services.learning.recovery`), before the consumer starts; so the consumer is started from the
Service's producer hook, like the OMS's. One replica: the state is not shared.

HTTP, besides /health and /metrics:
- `GET /ledger?engine=&since=`: ledger rows as JSON (engine = ARBITRAGE|FOREX|BINARY,
  since = ts_event in ns, inclusive);
- `GET /ledger.csv`: the same rows as CSV (list columns joined with ";");
- `GET /stats`: statistics per `ENGINE:strategy` (`services.learning.domain.stats`).
Parquet export is not offered: pyarrow is not a dependency.
"""
from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

from fastapi import HTTPException, Query, Response

from libs.common.bus import Consumer, Publisher
from libs.common.enums import Engine
from libs.common.identifiers import consumer_name
from libs.common.service import Service
from libs.common.streams import SUBSCRIPTIONS
from services.learning.config import LearningSettings
from services.learning.domain.learner import Learner
from services.learning.domain.ledger import COLUMNS, Ledger
from services.learning.domain.stats import strategy_stats
from services.learning.handlers import make_handler
from services.learning.recovery import RebuildReport, rebuild

NAME = "learning"
PORT = 8106


def build(settings: LearningSettings | None = None) -> Service:
    """The learning Service: consumer (after the rebuild), /ledger, /ledger.csv, /stats."""
    settings = settings or LearningSettings()
    learner = Learner(settings.learner())
    ledger = Ledger()
    streams = SUBSCRIPTIONS[NAME]
    rebuilt: list[RebuildReport] = []

    def extra() -> dict[str, Any]:
        doc: dict[str, Any] = {
            "policy_version": learner.version,
            "strategies": {f"{e.value}:{s}": {"trades": st.trades, "wins": st.wins,
                                              "total_pnl": str(st.total_pnl),
                                              "ewma_pnl": str(st.ewma_pnl)}
                           for (e, s), st in learner.stats.items()},
        }
        if rebuilt:
            doc["rebuild"] = vars(rebuilt[0])
        return doc

    service = Service(NAME, settings, default_port=PORT, extra_health=extra)

    async def run_consumer(publisher: Publisher, stop: asyncio.Event) -> None:
        rebuilt.append(await rebuild(publisher.redis, learner, ledger, group=NAME,
                                     streams=streams))
        consumer = Consumer(
            publisher.redis, group=NAME, consumer=settings.consumer or consumer_name(),
            streams=streams, handler=make_handler(learner, ledger), publisher=publisher,
            metrics=service.metrics, batch_size=settings.batch_size, block_ms=settings.block_ms,
            claim_idle_ms=settings.claim_idle_ms, claim_interval_ms=settings.claim_interval_ms,
            max_deliveries=settings.max_deliveries)
        service.consumer = consumer  # /health reports it as the service's consumer
        await consumer.run(stop)

    service.producer = run_consumer
    add_routes(service, learner, ledger)
    return service


def add_routes(service: Service, learner: Learner, ledger: Ledger) -> None:
    """Mount the ledger and statistics endpoints on `service.app`."""
    app = service.app

    def rows(engine: str | None, since: int | None) -> list[dict[str, Any]]:
        try:
            eng = Engine(engine.upper()) if engine else None
        except ValueError:
            raise HTTPException(422, f"unknown engine {engine!r}; one of "
                                     f"{[e.value for e in Engine]}") from None
        return ledger.rows(eng, since)

    @app.get("/ledger")
    async def get_ledger(engine: str | None = None,
                         since: int | None = Query(default=None, ge=0)) -> list[dict[str, Any]]:
        return rows(engine, since)

    @app.get("/ledger.csv")
    async def get_ledger_csv(engine: str | None = None,
                             since: int | None = Query(default=None, ge=0)) -> Response:
        return Response(to_csv(rows(engine, since)), media_type="text/csv")

    @app.get("/stats")
    async def get_stats() -> dict[str, Any]:
        fills = [f for c in ledger.chains.values() for f in c.fills.values()]
        return {"policy_version": learner.version,
                "strategies": strategy_stats(ledger.trades.values(), fills, ledger.rows())}


def to_csv(rows: list[dict[str, Any]]) -> str:
    """Ledger rows as CSV with a header; list values joined with ';', None as empty."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: (";".join(v) if isinstance(v, list) else "" if v is None else v)
                    for k, v in r.items()})
    return buf.getvalue()
