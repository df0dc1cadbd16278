"""Learning restart: rebuild the learner and the ledger by replaying the service's own input
streams before consuming (the OMS's approach, without a snapshot).

For each input stream, the entries from the start up to the group's last-delivered-id that are
not pending (delivered and not acked by any consumer) are decoded and applied in entry-id order
(merged across streams) with their outputs dropped: they were published when first handled.
Pending entries are left to the bus, which handles them again and publishes their outputs.
The policy version then resumes at max(versions replayed, last version on
`learning.policies`), so it keeps rising even if an input stream was trimmed. State older than
the streams' MAXLEN is lost; that bound is the streams' retention (1,000,000 entries each for
the order trail).
"""
from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from libs.common.bus import FIELD, group_position, pending_entries
from libs.common.errors import ValidationFailed
from libs.common.events import PolicyUpdated, decode
from libs.common.streams import LEARNING_POLICIES
from services.learning.domain.learner import Learner
from services.learning.domain.ledger import Ledger
from services.learning.handlers import apply

_CHUNK = 1000


@dataclass
class RebuildReport:
    """What a rebuild did, for /health and tests."""

    replayed: int = 0
    skipped_pending: int = 0
    undecodable: int = 0
    resumed_version: int = 0


def _s(v: bytes | str) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def _id(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


async def _entries(redis: Redis, stream: str, upto: str) -> list[tuple[tuple[int, int], str,
                                                                       bytes]]:
    out: list[tuple[tuple[int, int], str, bytes]] = []
    start = "-"
    while True:
        rows = await redis.xrange(stream, min=start, max=upto, count=_CHUNK)
        for entry_id, fields in rows:
            payload = (fields or {}).get(FIELD)
            if payload is not None:
                out.append((_id(_s(entry_id)), _s(entry_id), payload))
        if len(rows) < _CHUNK:
            return out
        start = f"({_s(rows[-1][0])}"


async def rebuild(redis: Redis, learner: Learner, ledger: Ledger, *, group: str,
                  streams: Sequence[str], policies: str = LEARNING_POLICIES) -> RebuildReport:
    """Replay `streams` into `learner` and `ledger` (see the module docstring)."""
    report = RebuildReport()
    per_stream = []
    for stream in streams:
        upto = await group_position(redis, stream, group)
        if _id(upto) == (0, 0):
            continue
        pending = {entry_id for entry_id, _ in await pending_entries(redis, stream, group)}
        entries = await _entries(redis, stream, upto)
        report.skipped_pending += sum(1 for e in entries if e[1] in pending)
        per_stream.append([e for e in entries if e[1] not in pending])
    for _, _, payload in heapq.merge(*per_stream):
        try:
            event = decode(payload)
        except ValidationFailed:
            report.undecodable += 1  # it was dead-lettered when first handled
            continue
        apply(learner, ledger, event)
        report.replayed += 1
    last = await redis.xrevrange(policies, count=1)
    if last:
        try:
            prev = decode(last[0][1][FIELD])
        except (ValidationFailed, KeyError):
            prev = None
        if isinstance(prev, PolicyUpdated):
            learner.version = max(learner.version, prev.version)
    report.resumed_version = learner.version
    return report
