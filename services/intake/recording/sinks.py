"""Where a replay's output goes: a small protocol, a Redis sink and an in-memory sink.

The replay engine calls `publish` with batches of `(stream, event)` in replay order and
`dead_letter` for each `BadLine`, after publishing everything before it.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from libs.common.bus import Output, Publisher, dead_letter_fields, maxlen_for
from libs.common.events import Event
from libs.common.streams import DLQ
from services.intake.domain.records import BadLine

GROUP = "intake"  # the `group` field of our dead letters: intake produced them


@runtime_checkable
class Sink(Protocol):
    """Receives a replay's events and bad lines."""

    async def publish(self, batch: Sequence[Output]) -> None: ...

    async def dead_letter(self, line: BadLine) -> None: ...


class RedisSink:
    """Publishes to the md.* streams through `Publisher.publish_many` (one pipelined round trip
    per batch); a BadLine goes to `dlq` with `stream` = its file, `entry_id` = its line number
    and `reason` = `file:line: reason`, as the replayer does."""

    def __init__(self, publisher: Publisher) -> None:
        self.publisher = publisher

    async def publish(self, batch: Sequence[Output]) -> None:
        await self.publisher.publish_many(batch)

    async def dead_letter(self, line: BadLine) -> None:
        await self.publisher.redis.xadd(
            DLQ, dead_letter_fields(line.source, str(line.line_no), GROUP, line.text.encode(),
                                    line.describe()),
            maxlen=maxlen_for(DLQ), approximate=True)


class MemorySink:
    """Keeps everything in lists, for tests and for counting."""

    def __init__(self) -> None:
        self.outputs: list[Output] = []
        self.bad_lines: list[BadLine] = []

    async def publish(self, batch: Sequence[Output]) -> None:
        self.outputs.extend(batch)

    async def dead_letter(self, line: BadLine) -> None:
        self.bad_lines.append(line)

    @property
    def events(self) -> list[Event]:
        return [e for _, e in self.outputs]

    def by_stream(self) -> Counter[str]:
        return Counter(s for s, _ in self.outputs)
