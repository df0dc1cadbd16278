"""Recording sources: a websocket URL (plus REST snapshots) or any `VenueAdapter`, into a Recorder.

The websocket path records the venue's own bytes: a `connect` line, each message sent
(`sent`), each message received (`ws`) and each REST body (`rest:<url>`), stamped with the
receive time read from `clock` on arrival. The adapter path records what the adapter yields: our
events as JSON (`event`) and its `BadMessage`s (`bad`), so any adapter's output can be replayed.

Live connections are off unless asked for: a URL whose host is not loopback needs
`allow_remote=True` (the CLI's `--live`).
"""
from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from libs.common.clock import Clock, LiveClock
from libs.common.errors import ConfigurationError
from libs.common.events import encode
from services.intake.adapters.base import BadMessage, VenueAdapter
from services.intake.recording.records import BAD, CONNECT, EVENT, REST, SENT, WS
from services.intake.recording.writer import Recorder

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CaptureResult:
    """How a capture ended: `reason` is duration, max_messages, closed or stopped."""

    messages: int
    reason: str


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_allowed(urls: Sequence[str], allow_remote: bool) -> None:
    """ConfigurationError unless every URL is loopback or remote traffic was allowed."""
    remote = [u for u in urls if not is_loopback(u)]
    if remote and not allow_remote:
        raise ConfigurationError(f"{remote[0]} is not a loopback address: live connections "
                                 "are off unless explicitly enabled (--live)")


async def _ticker(recorder: Recorder, every_s: float,
                  on_progress: Callable[[str], None] | None) -> None:
    while True:
        await asyncio.sleep(every_s)
        recorder.maybe_flush()
        if on_progress is not None:
            on_progress(recorder.view())


async def record_websocket(url: str, recorder: Recorder, *, send: Sequence[str] = (),
                           rest: Sequence[str] = (), duration_s: float | None = None,
                           max_messages: int | None = None, clock: Clock | None = None,
                           allow_remote: bool = False, progress_every_s: float = 1.0,
                           on_progress: Callable[[str], None] | None = None,
                           stop: asyncio.Event | None = None) -> CaptureResult:
    """Record one websocket until `duration_s`, `max_messages` received, close, or `stop`.

    After connecting, each `send` message is sent (and recorded); then each `rest` URL is
    fetched once while the socket keeps being read, as a book snapshot procedure needs.
    """
    from websockets.asyncio.client import connect  # imported here: only recording needs it

    check_allowed([url, *rest], allow_remote)
    clock = clock or LiveClock()
    received = 0
    reason = "closed"
    ticker = asyncio.create_task(_ticker(recorder, progress_every_s, on_progress))
    rest_task: asyncio.Task[None] | None = None
    try:
        async with asyncio.timeout(duration_s), connect(url, max_size=2**25) as ws:
            recorder.write(clock.now_ns(), CONNECT, url)
            for message in send:
                await ws.send(message)
                recorder.write(clock.now_ns(), SENT, message)
            if rest:
                rest_task = asyncio.create_task(_fetch_rest(rest, recorder, clock))
            stop_wait = asyncio.create_task(stop.wait()) if stop is not None else None
            try:
                while True:
                    recv = asyncio.create_task(ws.recv())
                    waits = {recv} | ({stop_wait} if stop_wait is not None else set())
                    done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                    if recv not in done:
                        recv.cancel()
                        reason = "stopped"
                        break
                    try:
                        message = recv.result()
                    except Exception as e:  # the socket closed: normal end of a capture
                        logger.info("websocket closed: %s", e)
                        reason = "closed"
                        break
                    recorder.write(clock.now_ns(), WS, message)
                    received += 1
                    if max_messages is not None and received >= max_messages:
                        reason = "max_messages"
                        break
            finally:
                if stop_wait is not None:
                    stop_wait.cancel()
            if rest_task is not None:
                await rest_task
    except TimeoutError:
        reason = "duration"
    finally:
        ticker.cancel()
        if rest_task is not None and not rest_task.done():
            rest_task.cancel()
        recorder.flush()
    return CaptureResult(received, reason)


async def _fetch_rest(urls: Sequence[str], recorder: Recorder, clock: Clock) -> None:
    import httpx

    async with httpx.AsyncClient(timeout=30.0) as client:
        for url in urls:
            try:
                resp = await client.get(url)
            except httpx.HTTPError as e:
                recorder.write(clock.now_ns(), BAD, json.dumps(
                    {"reason": f"GET {url} failed: {type(e).__name__}: {e}", "payload": ""}))
                continue
            ts = clock.now_ns()
            if resp.status_code != 200:
                recorder.write(ts, BAD, json.dumps(
                    {"reason": f"GET {url}: HTTP {resp.status_code}",
                     "payload": resp.text[:300]}))
                continue
            recorder.write(ts, f"{REST}:{url}", resp.text)


async def record_adapter(adapter: VenueAdapter, recorder: Recorder,
                         instrument_ids: Sequence[str], *, duration_s: float | None = None,
                         max_messages: int | None = None, clock: Clock | None = None,
                         progress_every_s: float = 1.0,
                         on_progress: Callable[[str], None] | None = None) -> CaptureResult:
    """Record an adapter's instruments and stream (events and BadMessages) to `recorder`."""
    clock = clock or LiveClock()
    received = 0
    reason = "closed"
    ticker = asyncio.create_task(_ticker(recorder, progress_every_s, on_progress))
    try:
        async with asyncio.timeout(duration_s):
            await adapter.start()
            info = await adapter.instruments()
            recorder.write(clock.now_ns(), EVENT, encode(info))
            async for item in adapter.stream(list(instrument_ids)):
                ts = clock.now_ns()
                if isinstance(item, BadMessage):
                    recorder.write(ts, BAD, json.dumps({"reason": item.reason,
                                                        "payload": item.payload}))
                else:
                    recorder.write(ts, EVENT, encode(item))
                received += 1
                if max_messages is not None and received >= max_messages:
                    reason = "max_messages"
                    break
    except TimeoutError:
        reason = "duration"
    finally:
        ticker.cancel()
        try:
            await adapter.close()
        except Exception:  # the capture is over either way; say why close failed
            logger.exception("adapter %s failed to close", adapter.venue)
        recorder.flush()
    return CaptureResult(received, reason)
