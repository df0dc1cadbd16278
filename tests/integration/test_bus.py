"""The bus against a real Redis: ack after publish, claim, dead-letter, group at id 0."""
from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

import pytest
from redis.asyncio import Redis

from libs.common.bus import FIELD, Consumer, Output, Publisher, ensure_groups, group_backlog
from libs.common.enums import Engine
from libs.common.events import Event, KillSwitchSet, OrderDenied
from libs.common.metrics import BusMetrics
from libs.common.streams import DLQ
from libs.common.testing import eventually

pytestmark = pytest.mark.integration


def denial(n: int) -> OrderDenied:
    return OrderDenied(ts_event=n, opportunity_id=f"opp-{n}", engine=Engine.ARBITRAGE,
                       strategy="s", reason="MIN_NET_EDGE", detail="test", policy_version=0)


def make_consumer(redis: Redis, stream: str, out: str, handler, name: str = "c1",
                  group: str = "g", **kw) -> Consumer:
    metrics = BusMetrics(group)
    return Consumer(redis, group=group, consumer=name, streams=[stream], handler=handler,
                    publisher=Publisher(redis, group, metrics), metrics=metrics,
                    block_ms=20, **kw)


async def dlq_entries(redis: Redis, stream: str) -> list[dict]:
    rows = await redis.xrange(DLQ)
    docs = [json.loads(f[FIELD]) for _, f in rows]
    return [d for d in docs if d["stream"] == stream]


async def run_until(consumer: Consumer, check, timeout: float = 10.0):
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        return await eventually(check, timeout)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


async def test_backlog_published_before_consumer_start_is_delivered(redis: Redis,
                                                                    uid: str) -> None:
    stream, out = f"in-{uid}", f"out-{uid}"
    await ensure_groups(redis, {"g": (stream,)})
    pub = Publisher(redis, "test")
    for n in range(5):
        await pub.publish(stream, denial(n))
    seen: list[int] = []

    async def handler(s: str, e: Event) -> Sequence[Output]:
        seen.append(e.ts_event)
        return [(out, KillSwitchSet(ts_event=e.ts_event, active=False, **e.caused()))]

    consumer = make_consumer(redis, stream, out, handler)

    async def done() -> bool:
        return len(seen) == 5

    await run_until(consumer, done)
    assert seen == [0, 1, 2, 3, 4]
    assert await redis.xlen(out) == 5
    assert await group_backlog(redis, stream, "g") == (0, 0)


async def test_output_is_published_in_the_same_transaction_as_the_ack(redis: Redis,
                                                                      uid: str) -> None:
    stream, out = f"in-{uid}", f"out-{uid}"
    await ensure_groups(redis, {"g": (stream,)})
    await Publisher(redis, "t").publish(stream, denial(7))

    async def handler(s: str, e: Event) -> Sequence[Output]:
        # While the handler runs, the input is pending and nothing is published yet.
        assert (await redis.xpending(stream, "g"))["pending"] == 1
        assert await redis.xlen(out) == 0
        return [(out, KillSwitchSet(ts_event=1, active=True, **e.caused()))]

    consumer = make_consumer(redis, stream, out, handler)

    async def done() -> bool:
        return await redis.xlen(out) == 1

    await run_until(consumer, done)
    (_, fields), = await redis.xrange(out)
    body = json.loads(fields[FIELD])
    assert body["kind"] == "control.kill_switch" and body["correlation_id"]
    assert (await redis.xpending(stream, "g"))["pending"] == 0


async def test_malformed_message_goes_to_dlq_with_reason_and_the_rest_flow(redis: Redis,
                                                                          uid: str) -> None:
    stream, out = f"in-{uid}", f"out-{uid}"
    await ensure_groups(redis, {"g": (stream,)})
    pub = Publisher(redis, "t")
    await pub.publish(stream, denial(1))
    await redis.xadd(stream, {FIELD: b'{"kind": "decision.denied", "ts_event": "soon"}'})
    await redis.xadd(stream, {FIELD: b"not json"})
    await pub.publish(stream, denial(2))
    seen: list[int] = []

    async def handler(s: str, e: Event) -> Sequence[Output]:
        seen.append(e.ts_event)
        return []

    consumer = make_consumer(redis, stream, out, handler)

    async def done() -> bool:
        return len(seen) == 2 and len(await dlq_entries(redis, stream)) == 2

    await run_until(consumer, done)
    dead = await dlq_entries(redis, stream)
    assert all(d["reason"].startswith("validation:") for d in dead)
    assert "ts_event" in dead[0]["reason"]
    assert dead[1]["payload"] == "not json"
    assert consumer.state.dead_lettered == 2
    assert await group_backlog(redis, stream, "g") == (0, 0)


async def test_failing_handler_is_retried_then_dead_lettered(redis: Redis, uid: str) -> None:
    stream, out = f"in-{uid}", f"out-{uid}"
    await ensure_groups(redis, {"g": (stream,)})
    await Publisher(redis, "t").publish(stream, denial(1))
    attempts: list[int] = []

    async def handler(s: str, e: Event) -> Sequence[Output]:
        attempts.append(e.ts_event)
        raise RuntimeError("venue said no")

    consumer = make_consumer(redis, stream, out, handler, claim_idle_ms=100,
                             claim_interval_ms=50, max_deliveries=3)

    async def done() -> bool:
        return len(await dlq_entries(redis, stream)) == 1

    await run_until(consumer, done)
    (dead,) = await dlq_entries(redis, stream)
    assert attempts == [1, 1, 1]
    assert "failed 3 deliveries" in dead["reason"] and "venue said no" in dead["reason"]
    assert json.loads(dead["payload"])["opportunity_id"] == "opp-1"
    assert await group_backlog(redis, stream, "g") == (0, 0)


async def test_live_replica_claims_what_a_dead_replica_left_pending(redis: Redis,
                                                                    uid: str) -> None:
    stream, out = f"in-{uid}", f"out-{uid}"
    await ensure_groups(redis, {"g": (stream,)})
    pub = Publisher(redis, "t")
    for n in range(3):
        await pub.publish(stream, denial(n))
    # replica "dead" read the batch and died before acking
    await redis.xreadgroup("g", "dead", {stream: ">"}, count=10)
    assert (await redis.xpending(stream, "g"))["pending"] == 3
    seen: list[int] = []

    async def handler(s: str, e: Event) -> Sequence[Output]:
        seen.append(e.ts_event)
        return []

    live = make_consumer(redis, stream, out, handler, name="live", claim_idle_ms=200,
                         claim_interval_ms=50)

    async def done() -> bool:
        return sorted(seen) == [0, 1, 2]

    await run_until(live, done)
    assert await group_backlog(redis, stream, "g") == (0, 0)


async def test_consumer_recreates_a_lost_group(redis: Redis, uid: str) -> None:
    stream, out = f"in-{uid}", f"out-{uid}"
    seen: list[int] = []

    async def handler(s: str, e: Event) -> Sequence[Output]:
        seen.append(e.ts_event)
        return []

    consumer = make_consumer(redis, stream, out, handler)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    await eventually(lambda: _has_group(redis, stream))
    await redis.delete(stream)  # as after a Redis restart without persistence
    await asyncio.sleep(0.1)

    # Published into a stream that has no group any more: the consumer hits NOGROUP,
    # recreates its group at id 0 and so still gets this entry.
    await Publisher(redis, "t").publish(stream, denial(9))

    async def published_and_seen() -> bool:
        return seen[:1] == [9]

    try:
        await eventually(published_and_seen, 10)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


async def _has_group(redis: Redis, stream: str) -> bool:
    try:
        return bool(await redis.xinfo_groups(stream))
    except Exception:
        return False


async def test_handler_rejection_is_dead_lettered_at_once_with_its_reason(redis: Redis,
                                                                         uid: str) -> None:
    from libs.common.errors import ValidationFailed

    stream, out = f"in-{uid}", f"out-{uid}"
    await ensure_groups(redis, {"g": (stream,)})
    await Publisher(redis, "t").publish(stream, denial(1))
    attempts: list[int] = []

    async def handler(s: str, e: Event) -> Sequence[Output]:
        attempts.append(e.ts_event)
        raise ValidationFailed("fill for unknown order ord-1")

    consumer = make_consumer(redis, stream, out, handler)

    async def done() -> bool:
        return len(await dlq_entries(redis, stream)) == 1

    await run_until(consumer, done)
    (dead,) = await dlq_entries(redis, stream)
    assert attempts == [1]
    assert dead["reason"] == "rejected by g: fill for unknown order ord-1"
    assert await group_backlog(redis, stream, "g") == (0, 0)


async def test_restarted_consumer_handles_what_it_left_pending_first(redis: Redis,
                                                                     uid: str) -> None:
    stream, out = f"in-{uid}", f"out-{uid}"
    await ensure_groups(redis, {"g": (stream,)})
    pub = Publisher(redis, "t")
    for n in range(5):
        await pub.publish(stream, denial(n))
    # the same consumer name read everything, then its process died before acking
    await redis.xreadgroup("g", "same", {stream: ">"}, count=10)
    seen: list[int] = []

    async def handler(s: str, e: Event) -> Sequence[Output]:
        seen.append(e.ts_event)
        if e.ts_event == 2:
            raise RuntimeError("still failing")
        return []

    # claiming is far away: only the own-PEL read at start can explain the deliveries
    restarted = make_consumer(redis, stream, out, handler, name="same", batch_size=2,
                              claim_idle_ms=60_000)

    async def done() -> bool:
        return sorted(set(seen)) == [0, 1, 2, 3, 4]

    await run_until(restarted, done)
    assert seen.count(2) == 1  # the failing one is left for the claimer, not re-read in a loop
    assert (await redis.xpending(stream, "g"))["pending"] == 1
