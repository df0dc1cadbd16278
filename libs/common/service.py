"""The service runner: Redis, the consumer, an optional producer, `/health`, `/metrics`,
graceful shutdown on SIGTERM/SIGINT. Every service's `app.py` builds one `Service`."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import uvicorn
from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError
from redis.asyncio import Redis

from libs.common.bus import Consumer, Handler, Publisher, ensure_groups
from libs.common.enums import HealthState
from libs.common.errors import ConfigurationError
from libs.common.identifiers import consumer_name
from libs.common.logging import setup_logging
from libs.common.metrics import BusMetrics
from libs.common.settings import ServiceSettings

logger = logging.getLogger(__name__)

Producer = Callable[[Publisher, asyncio.Event], Awaitable[None]]
Extra = Callable[[], dict[str, Any]]
S = TypeVar("S", bound=ServiceSettings)


class Service:
    """A Trifecta service process: consumer group `name`, HTTP on `settings.http_port`."""

    def __init__(
        self,
        name: str,
        settings: ServiceSettings,
        *,
        default_port: int,
        streams: Sequence[str] = (),
        handler: Handler | None = None,
        producer: Producer | None = None,
        warm_up: Callable[[Redis], Awaitable[None]] | None = None,
        extra_health: Extra | None = None,
    ) -> None:
        self.name = name
        self.settings = settings
        self.port = settings.http_port or default_port
        self.streams = tuple(streams)
        self.handler = handler
        self.producer = producer
        self.warm_up = warm_up
        self.domain: Any = None  # the service's domain objects, for introspection and tests
        self.extra_health = extra_health
        self.metrics = BusMetrics(name)
        self.redis: Redis | None = None
        self.publisher: Publisher | None = None
        self.consumer: Consumer | None = None
        self.stop = asyncio.Event()
        self.started_ns = time.time_ns()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.app = self._build_app()

    # ---- HTTP ----------------------------------------------------------------------------
    def _build_app(self) -> FastAPI:
        app = FastAPI(title=f"trifecta-{self.name}", docs_url=None, redoc_url=None)

        @app.get("/health")
        async def health(response: Response) -> dict[str, Any]:
            doc = await self.health()
            if doc["status"] == HealthState.FAULTED.value:
                response.status_code = 503
            return doc

        @app.get("/metrics")
        async def metrics() -> Response:
            return Response(generate_latest(self.metrics.registry),
                            media_type=CONTENT_TYPE_LATEST)

        return app

    async def health(self) -> dict[str, Any]:
        redis_ok = False
        if self.redis is not None:
            try:
                redis_ok = bool(await asyncio.wait_for(self.redis.ping(), 1.0))
            except Exception:
                redis_ok = False
        status, reason = HealthState.RUNNING, ""
        state = self.consumer.state if self.consumer else None
        for task_name, task in self._tasks.items():
            if task.done() and not task.cancelled() and task.exception() is not None:
                status, reason = HealthState.FAULTED, f"{task_name}: {task.exception()!r}"
        if status is not HealthState.FAULTED:
            if not redis_ok:
                status, reason = HealthState.DEGRADED, "redis unreachable"
            elif state and state.degraded_reason:
                status, reason = HealthState.DEGRADED, state.degraded_reason
            elif self.consumer is not None and not state.running:  # type: ignore[union-attr]
                status, reason = HealthState.DEGRADED, "consumer not running"
        doc: dict[str, Any] = {
            "service": self.name,
            "status": status.value,
            "reason": reason,
            "mode": self.settings.mode.value,
            "redis": redis_ok,
            "uptime_s": round((time.time_ns() - self.started_ns) / 1e9, 1),
        }
        if state is not None:
            doc.update(consumer=self.consumer.consumer, group=self.name,  # type: ignore[union-attr]
                       lag=state.lag, pending=state.pending, handled=state.handled,
                       failed=state.failed, dead_lettered=state.dead_lettered,
                       last_event=state.last_event)
        if self.extra_health:
            doc.update(self.extra_health())
        return doc

    # ---- lifecycle -----------------------------------------------------------------------
    async def serve(self) -> None:
        s = self.settings
        self.redis = Redis.from_url(s.redis_url, decode_responses=False,
                                    health_check_interval=10)
        self.publisher = Publisher(self.redis, self.name, self.metrics)
        await self._wait_for_redis()
        await ensure_groups(self.redis)  # the whole topology, before anything is published
        if self.warm_up is not None:  # rebuild in-memory state before consuming new entries
            await self.warm_up(self.redis)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, self.stop.set)
        if self.handler is not None:
            self.consumer = Consumer(
                self.redis, group=self.name, consumer=s.consumer or consumer_name(),
                streams=self.streams, handler=self.handler, publisher=self.publisher,
                metrics=self.metrics, batch_size=s.batch_size, block_ms=s.block_ms,
                claim_idle_ms=s.claim_idle_ms, claim_interval_ms=s.claim_interval_ms,
                max_deliveries=s.max_deliveries)
            self._tasks["consumer"] = asyncio.create_task(self.consumer.run(self.stop))
        if self.producer is not None:
            self._tasks["producer"] = asyncio.create_task(self.producer(self.publisher,
                                                                        self.stop))
        server = _QuietServer(uvicorn.Config(self.app, host=s.http_host, port=self.port,
                                             log_level="warning", lifespan="off"))
        self._tasks["http"] = asyncio.create_task(server.serve())
        logger.info("%s started: http://%s:%d, mode %s, redis %s", self.name, s.http_host,
                    self.port, s.mode.value, _redact(s.redis_url))
        await self.stop.wait()
        logger.info("%s stopping", self.name)
        server.should_exit = True
        for name in ("consumer", "producer"):
            task = self._tasks.get(name)
            if task is None:
                continue
            try:
                await asyncio.wait_for(asyncio.shield(task), 10)
            except TimeoutError:
                task.cancel()
            except Exception:
                pass
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._tasks["http"], 5)
        await self.redis.aclose()
        logger.info("%s stopped", self.name)

    async def _wait_for_redis(self) -> None:
        assert self.redis is not None
        deadline = time.monotonic() + 30
        while True:
            try:
                await self.redis.ping()
                return
            except Exception as e:
                if time.monotonic() > deadline:
                    raise SystemExit(f"{self.name}: Redis at {_redact(self.settings.redis_url)}"
                                     f" did not answer within 30 s ({e})") from e
                await asyncio.sleep(0.2)


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: the Service owns SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[override]
        yield

    def install_signal_handlers(self) -> None:
        return None


def _redact(url: str) -> str:
    if "@" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def run(name: str, settings_cls: Callable[[], S], build: Callable[[S], Service]) -> None:
    """Entry point of `python -m services.<name>`: settings, logging, serve until SIGTERM.

    Wrong settings (including LIVE without the explicit opt-in) end the process with exit code
    2 and one clear line, never a traceback.
    """
    try:
        settings = settings_cls()
    except (ConfigurationError, ValidationError) as e:
        setup_logging(name)
        logger.error("%s: configuration error: %s", name, e)
        raise SystemExit(2) from None
    setup_logging(name, settings.log_level, settings.log_json)
    try:
        asyncio.run(_main(lambda: build(settings)))
    except ConfigurationError as e:
        logger.error("%s: configuration error: %s", name, e)
        raise SystemExit(2) from None


async def _main(service_factory: Callable[[], Service]) -> None:
    service = service_factory()
    await service.serve()
