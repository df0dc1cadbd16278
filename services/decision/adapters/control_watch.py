"""Control watcher: every decision replica reads the `control` stream directly (plain XREAD,
not the consumer group) and applies kill switch events at once. Through the group only one
replica would see a control event, and only after the opportunities queued before it; the
watcher makes the switch take effect within one read on every replica."""
from __future__ import annotations

import asyncio
import logging

from redis import exceptions as redis_errors
from redis.asyncio import Redis

from libs.common.bus import FIELD, Publisher
from libs.common.errors import ValidationFailed
from libs.common.events import KillSwitchSet, decode
from libs.common.streams import CONTROL
from services.decision.domain.risk import RiskGate

logger = logging.getLogger(__name__)


class ControlWatcher:
    """Runs as the service's producer task: `await watcher(publisher, stop)`."""

    def __init__(self, redis: Redis, gate: RiskGate, block_ms: int = 100) -> None:
        self.redis = redis
        self.gate = gate
        self.block_ms = block_ms

    async def __call__(self, _publisher: Publisher | None, stop: asyncio.Event) -> None:
        last = "$"
        while not stop.is_set():
            try:
                resp = await self.redis.xread({CONTROL: last}, block=self.block_ms, count=100)
            except (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError):
                await asyncio.sleep(0.5)
                continue
            for _stream, items in resp or []:
                for entry_id, fields in items:
                    last = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
                    try:
                        event = decode(fields.get(FIELD, b""))
                    except ValidationFailed:
                        continue  # the group consumer dead-letters it with the reason
                    if isinstance(event, KillSwitchSet):
                        await self.gate.on_kill_switch(event)
