"""Composition root of the dashboard: stream watcher, health poller, HTTP API, WebSocket."""
from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
from pathlib import Path
from typing import Any

import httpx
from fastapi import Header, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ValidationError
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from libs.common.bus import FIELD, Publisher
from libs.common.errors import ValidationFailed
from libs.common.events import KillSwitchSet, decode
from libs.common.service import Service
from libs.common.streams import (
    CONTROL,
    DECISIONS_REJECTED,
    DLQ,
    LEARNING_POLICIES,
    OMS_POSITIONS,
    OPPORTUNITIES,
    ORDERS_INTENTS,
    ORDERS_REPORTS,
)
from services.dashboard.config import DashboardSettings
from services.dashboard.domain.views import DashboardState

NAME = "dashboard"
PORT = 8080
STATIC = Path(__file__).resolve().parent / "static"
WATCHED = (OPPORTUNITIES, ORDERS_INTENTS, DECISIONS_REJECTED, ORDERS_REPORTS, OMS_POSITIONS,
           LEARNING_POLICIES, CONTROL, DLQ)
KILL_STATES = {"HALT": (True, False), "REDUCE": (True, True), "RESUME": (False, False)}

logger = logging.getLogger(__name__)


class KillRequest(BaseModel):
    state: str


class Hub:
    """Fans messages out to every connected WebSocket through a bounded queue each; a client
    too slow to keep up is dropped (it reconnects and reloads the snapshot)."""

    def __init__(self, limit: int = 1000) -> None:
        self.limit = limit
        self.clients: set[asyncio.Queue[dict[str, Any] | None]] = set()

    def broadcast(self, messages: list[dict[str, Any]]) -> None:
        for queue in list(self.clients):
            if queue.qsize() + len(messages) > self.limit:
                self.clients.discard(queue)
                queue.put_nowait(None)  # the client's writer closes the socket
                continue
            for msg in messages:
                queue.put_nowait(msg)


class Dashboard:
    """The views, fed by the streams (read-only, XREAD from the end) and the health poller."""

    def __init__(self, settings: DashboardSettings) -> None:
        self.settings = settings
        self.state = DashboardState(mode=settings.mode.value, last_n=settings.dashboard_last_n)
        self.hub = Hub()
        self.read_entries = 0
        self.redis_errors = 0

    def _apply(self, messages: list[dict[str, Any]]) -> None:
        self.hub.broadcast(messages)

    async def watch(self, redis: Redis, stop: asyncio.Event) -> None:
        """XREAD every watched stream from `$` (entries after start-up) until stopped."""
        ids: dict[str, str] = {}
        for stream in WATCHED:
            info = await redis.xinfo_stream(stream) if await redis.exists(stream) else None
            ids[stream] = (info["last-generated-id"].decode() if info else "0-0")
        while not stop.is_set():
            try:
                reply = await redis.xread(ids, count=500, block=200)  # type: ignore[arg-type]
            except (RedisConnectionError, RedisTimeoutError) as e:  # keep the view, retry
                logger.warning("dashboard: redis read failed (%s); retrying", type(e).__name__)
                self.redis_errors += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)
                continue
            for raw_stream, entries in reply or []:
                stream = raw_stream.decode()
                for raw_id, fields in entries:
                    entry_id = raw_id.decode()
                    ids[stream] = entry_id
                    self.read_entries += 1
                    self._apply(self._fold(stream, entry_id, fields.get(FIELD)))

    def _fold(self, stream: str, entry_id: str, payload: bytes | None) -> list[dict[str, Any]]:
        if payload is None:
            self.state.bad_entries += 1
            return []
        if stream == DLQ:
            return self.state.apply_dlq(payload, entry_id)
        try:
            event = decode(payload)
        except (ValidationFailed, ValidationError, ValueError) as e:
            self.state.bad_entries += 1
            logger.warning("dashboard: unreadable entry %s on %s: %s", entry_id, stream, e)
            return []
        return self.state.apply(event, time.time_ns())

    async def poll_health(self, stop: asyncio.Event) -> None:
        """GET each configured /health URL every interval; broadcast changes."""
        urls = self.settings.dashboard_health_urls
        async with httpx.AsyncClient(timeout=1.5) as client:
            while not stop.is_set():
                for name, url in urls.items():
                    try:
                        doc = (await client.get(url)).json()
                        msgs = self.state.set_health(name, doc if isinstance(doc, dict) else None,
                                                     "not a JSON object")
                    except (httpx.HTTPError, ValueError) as e:
                        msgs = self.state.set_health(name, None, type(e).__name__)
                    self._apply(msgs)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.settings.dashboard_health_interval_s)

    async def run(self, publisher: Publisher, stop: asyncio.Event) -> None:
        """The Service producer: the stream watcher and the health poller together."""
        tasks = [asyncio.create_task(self.watch(publisher.redis, stop))]
        if self.settings.dashboard_health_urls:
            tasks.append(asyncio.create_task(self.poll_health(stop)))
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()


def _authorized(settings: DashboardSettings, header: str | None) -> JSONResponse | None:
    """None when the bearer token matches; else the refusal to send (token never logged)."""
    if settings.dashboard_token is None:
        return JSONResponse({"error": "controls disabled: TRIFECTA_DASHBOARD_TOKEN is not set"},
                            status_code=403)
    expected = f"Bearer {settings.dashboard_token.get_secret_value()}".encode()
    if header is None or not hmac.compare_digest(header.encode(), expected):
        return JSONResponse({"error": "missing or wrong bearer token"}, status_code=401)
    return None


def build(settings: DashboardSettings | None = None) -> Service:
    settings = settings or DashboardSettings()
    dash = Dashboard(settings)

    def extra() -> dict[str, Any]:
        return {"ws_clients": len(dash.hub.clients), "entries_read": dash.read_entries,
                "bad_entries": dash.state.bad_entries, "kill_switch": dash.state.kill_switch,
                "controls_enabled": settings.controls_enabled}

    service = Service(NAME, settings, default_port=PORT, producer=dash.run, extra_health=extra)
    app = service.app

    app.mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/api/snapshot")
    async def snapshot() -> dict[str, Any]:
        return dash.state.snapshot()

    @app.post("/api/kill", response_model=None)
    async def kill(body: KillRequest,
                   authorization: str | None = Header(default=None)) -> JSONResponse:
        refusal = _authorized(settings, authorization)
        if refusal is not None:
            return refusal
        state = body.state.upper()
        if state not in KILL_STATES:
            return JSONResponse({"error": f"state must be one of {sorted(KILL_STATES)}, "
                                          f"not {body.state!r}"}, status_code=422)
        if service.publisher is None:
            return JSONResponse({"error": "not connected to Redis yet"}, status_code=503)
        active, reduce_only = KILL_STATES[state]
        event = KillSwitchSet(ts_event=time.time_ns(), active=active, reduce_only=reduce_only,
                              reason=f"dashboard: {state}")
        entry_id = await service.publisher.publish(CONTROL, event)
        logger.warning("kill switch set from the dashboard: %s", state)
        return JSONResponse({"state": state, "event_id": event.event_id,
                             "entry_id": entry_id.decode()})

    @app.websocket("/ws")
    async def ws(socket: WebSocket) -> None:
        await socket.accept()
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        dash.hub.clients.add(queue)

        async def until_closed() -> None:  # wakes the writer when the peer or server closes
            with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                while (await socket.receive())["type"] != "websocket.disconnect":
                    pass
            queue.put_nowait(None)

        reader = asyncio.create_task(until_closed())
        try:
            await socket.send_json({"v": 1, "type": "hello", "seq": dash.state.seq,
                                    "data": {"mode": settings.mode.value}})
            while True:
                msg = await queue.get()
                if msg is None:
                    if not reader.done():  # dropped by the hub: too slow
                        await socket.close(code=1013, reason="too slow; reload the snapshot")
                    return
                await socket.send_json(msg)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            reader.cancel()
            dash.hub.clients.discard(queue)

    return service
