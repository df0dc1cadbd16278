"""OMS restart: rebuild the domain from a snapshot and its own input streams, then hand the
group's leftover pending entries to this consumer; and the consumer that writes snapshots.

Restart semantics (the OMS runs as one replica: its state is in memory):
1. For each input stream read the group's `last-delivered-id` L and its pending entries P
   (delivered, never acked: their outputs were never published, since a batch's outputs and
   acks go in one MULTI).
2. Load the snapshot at `snapshot_key` (state + the ids S it covers); a corrupt or
   unknown-version one, or one ahead of L (the streams were lost), is ignored with a warning.
3. Replay `orders.intents` and `orders.reports` entries with S < id <= L that are not in P,
   merged by entry id, through `Oms.on_intent` / `Oms.on_report` with the outputs dropped:
   they were published when first handled. `md.bars` is not replayed: marks come from the
   snapshot, else from the last fill, until the next bar.
4. Move every pending entry of another consumer name to this one (XCLAIM JUSTID), so the bus
   handles all of P first, from its own PEL, before any new entry; each is handled once, and
   its outputs are published then. Entries after L are consumed normally.
Replaying an entry that is then delivered again is harmless: reports are deduplicated by event,
order and fill id, intents by intent id; it would only lose that entry's outputs, which is why
pending entries are skipped in step 3.
"""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from redis import exceptions as redis_errors
from redis.asyncio import Redis

from libs.common.bus import FIELD, Consumer, Output, group_position, pending_entries
from libs.common.errors import ValidationFailed
from libs.common.events import (
    OrderClosed,
    OrderFilled,
    OrderIntentApproved,
    OrderSubmitted,
    decode,
)
from services.oms.domain.oms import Oms
from services.oms.domain.snapshot import (
    SnapshotInvalid,
    decode_snapshot,
    encode_snapshot,
    parse_id,
)

logger = logging.getLogger(__name__)

_CHUNK = 1000
_NONE = "0-0"


@dataclass
class RebuildReport:
    """What a rebuild did, for /health and tests."""

    snapshot_used: bool = False
    snapshot_problem: str = ""
    replayed: int = 0
    skipped_pending: int = 0
    claimed: int = 0
    last_delivered: dict[str, str] = field(default_factory=dict)


def _s(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


async def _entries(redis: Redis, stream: str, after: str, upto: str,
                   skip: set[str]) -> AsyncIterator[tuple[tuple[int, int], str, bytes]]:
    """Entries after `after` up to `upto` inclusive, not in `skip`, in id order."""
    if parse_id(upto) <= parse_id(after):
        return
    start = f"({after}" if after != _NONE else "-"
    while True:
        rows = await redis.xrange(stream, min=start, max=upto, count=_CHUNK)
        for entry_id, fields in rows:
            eid = _s(entry_id)
            payload = (fields or {}).get(FIELD)
            if eid not in skip and payload is not None:
                yield parse_id(eid), eid, payload
        if len(rows) < _CHUNK:
            return
        start = f"({_s(rows[-1][0])}"


def _apply(oms: Oms, payload: bytes) -> bool:
    """Feed one stored entry to the domain, dropping its outputs; False if it was not usable
    (it was dead-lettered when first handled)."""
    try:
        event = decode(payload)
    except ValidationFailed:
        return False
    if isinstance(event, OrderIntentApproved):
        oms.on_intent(event)
        return True
    if isinstance(event, OrderSubmitted | OrderFilled | OrderClosed):
        return oms.on_report(event).ok
    return False


async def load_snapshot(redis: Redis, key: str) -> tuple[dict[str, Any] | None,
                                                          dict[str, str], str]:
    """(state, ids, problem): the stored snapshot, or (None, {}, why it is unusable)."""
    raw = await redis.get(key)
    if raw is None:
        return None, {}, ""
    try:
        snap = decode_snapshot(raw)
    except SnapshotInvalid as e:
        return None, {}, str(e)
    return snap.state, snap.ids, ""


async def rebuild(redis: Redis, oms: Oms, *, group: str, consumer: str,
                  streams: Sequence[str], replay_streams: Sequence[str],
                  snapshot_key: str) -> RebuildReport:
    """Restore `oms` to the state its group's handled entries gave (see the module docstring)
    and move the group's pending entries to `consumer`."""
    report = RebuildReport()
    pending: dict[str, list[tuple[str, str]]] = {}
    for stream in streams:
        report.last_delivered[stream] = await group_position(redis, stream, group)
        pending[stream] = await pending_entries(redis, stream, group)

    state, ids, problem = await load_snapshot(redis, snapshot_key)
    start = dict.fromkeys(replay_streams, _NONE)
    if state is not None:
        ahead = [s for s in replay_streams
                 if parse_id(ids.get(s, _NONE)) > parse_id(report.last_delivered[s])]
        if ahead:
            problem = f"snapshot is ahead of the group on {', '.join(ahead)}"
        else:
            try:
                oms.restore(state)
                report.snapshot_used = True
                start = {s: ids.get(s, _NONE) for s in replay_streams}
            except (ValueError, KeyError, TypeError, AttributeError) as e:
                problem = f"state does not load: {type(e).__name__}: {e}"
    if problem:
        report.snapshot_problem = problem
        logger.warning("OMS snapshot %s ignored (%s); replaying the streams from the start",
                       snapshot_key, problem)

    # Merge the replayed streams by entry id: the order the bus delivered them in, near enough.
    iters = {s: _entries(redis, s, start[s], report.last_delivered[s],
                         {eid for eid, _c in pending[s]}) for s in replay_streams}
    heads: dict[str, tuple[tuple[int, int], str, bytes]] = {}
    for s, it in iters.items():
        head = await anext(it, None)
        if head is not None:
            heads[s] = head
    while heads:
        s = min(heads, key=lambda k: heads[k][0])
        _apply(oms, heads[s][2])
        report.replayed += 1
        nxt = await anext(iters[s], None)
        if nxt is None:
            del heads[s]
        else:
            heads[s] = nxt
    report.skipped_pending = sum(len(pending[s]) for s in replay_streams)

    for stream in streams:
        others = [eid for eid, c in pending[stream] if c != consumer]
        for i in range(0, len(others), _CHUNK):
            await redis.xclaim(stream, group, consumer, 0, others[i:i + _CHUNK], justid=True)
        report.claimed += len(others)
    logger.info("OMS rebuilt: snapshot %s, %d entries replayed, %d pending left to the bus "
                "(%d claimed from other consumers)",
                "used" if report.snapshot_used else "not used", report.replayed,
                sum(len(p) for p in pending.values()), report.claimed)
    return report


class OmsConsumer(Consumer):
    """The bus consumer plus periodic snapshots of `oms`.

    A snapshot is written after a batch's commit, once `snapshot_every` events were handled
    since the last one, and only when the group has nothing pending on any stream: then every
    entry up to each stream's last-delivered-id is handled and acked, so those ids are exactly
    what the state covers. Otherwise it waits for a later batch.
    """

    def __init__(self, *args: Any, oms: Oms, snapshot_key: str, snapshot_every: int,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.oms = oms
        self.snapshot_key = snapshot_key
        self.snapshot_every = snapshot_every
        self.snapshots_written = 0
        self._since_snapshot = 0

    async def _commit(self, outputs: list[Output], acks: dict[str, list[str]],
                      dead: list[tuple[str, str, bytes | None, str]]) -> None:
        handled = sum(len(v) for v in acks.values())
        await super()._commit(outputs, acks, dead)
        self._since_snapshot += handled
        if self.snapshot_every and self._since_snapshot >= self.snapshot_every:
            try:
                await self.write_snapshot()
            except (redis_errors.RedisError, OSError) as e:  # try again after the next batch
                logger.warning("OMS snapshot not written: %s", e)

    async def write_snapshot(self) -> bool:
        """Write the snapshot now if nothing is pending; True if written."""
        ids: dict[str, str] = {}
        for stream in self.streams:
            summary = await self.redis.xpending(stream, self.group)
            if int(summary["pending"]):
                return False
            ids[stream] = await group_position(self.redis, stream, self.group)
        await self.redis.set(self.snapshot_key, encode_snapshot(self.oms.to_state(), ids))
        self.snapshots_written += 1
        self._since_snapshot = 0
        return True
