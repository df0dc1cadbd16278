"""`trifecta record` and `trifecta replay`: argument parsing and the two entry points.

The lead wires them into the `trifecta` CLI:

    rec = sub.add_parser("record", help="record a venue to trifecta-rec files")
    add_record_args(rec)
    rep = sub.add_parser("replay", help="replay recordings through intake into md.*")
    add_replay_args(rep)
    ...
    if args.command == "record": return record_main(args)
    if args.command == "replay": return replay_main(args)
"""
from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from websockets.exceptions import WebSocketException

from libs.common.errors import ConfigurationError
from services.intake.adapters.base import VenueAdapter
from services.intake.adapters.recorded import DEFAULT_DATA_DIR
from services.intake.recording.capture import (
    CaptureResult,
    check_allowed,
    record_adapter,
    record_websocket,
)
from services.intake.recording.writer import Recorder

DEFAULT_OUT = Path(__file__).resolve().parents[3] / "var" / "recordings"


def add_record_args(parser: argparse.ArgumentParser) -> None:
    """Options of `trifecta record`."""
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--url", help="websocket URL to record (ws:// or wss://)")
    src.add_argument("--adapter", metavar="MODULE:FACTORY",
                     help="record a VenueAdapter's events: FACTORY() must return the adapter")
    parser.add_argument("--venue", help="venue name for the header (BINANCE, POLONIEX...); "
                        "required with --url, default the adapter's")
    parser.add_argument("--send", action="append", default=[], metavar="TEXT",
                        help="message to send after connecting (repeatable), e.g. a subscribe")
    parser.add_argument("--rest", action="append", default=[], metavar="URL",
                        help="REST URL to GET once after subscribing (repeatable), e.g. a "
                        "depth snapshot; recorded as rest:<url>")
    parser.add_argument("--instrument", action="append", default=[], metavar="ID",
                        help="instrument id for --adapter (repeatable)")
    parser.add_argument("--channel", action="append", default=[], metavar="NAME",
                        help="channel names to list in the header (repeatable)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument("--duration", type=float, default=None, metavar="SECONDS",
                        help="stop after this long (default: until closed or --max-messages)")
    parser.add_argument("--max-messages", type=int, default=None, metavar="N",
                        help="stop after N messages received")
    parser.add_argument("--rotate-mb", type=float, default=256.0,
                        help="start a new file after this many MB of text (default 256)")
    parser.add_argument("--rotate-minutes", type=float, default=60.0,
                        help="start a new file after this many minutes (default 60)")
    parser.add_argument("--flush-s", type=float, default=1.0,
                        help="flush at least this often; a crash loses at most this much")
    parser.add_argument("--fsync", action="store_true", help="fsync every flush")
    parser.add_argument("--live", action="store_true",
                        help="allow non-loopback hosts (live connections are off otherwise)")


def record_main(args: argparse.Namespace) -> int:
    """Run `trifecta record`; 0 when the capture ended as asked, 1 on a configuration error
    or a connection that closed before a --duration/--max-messages limit."""
    try:
        if args.url:
            check_allowed([args.url, *args.rest], args.live)
        adapter = _load_adapter(args.adapter) if args.adapter else None
        venue = args.venue or (adapter.venue if adapter is not None else None)
        if not venue:
            raise ConfigurationError("--venue is required with --url")
        recorder = Recorder(args.out, venue.upper(), tuple(args.channel),
                            rotate_bytes=int(args.rotate_mb * 1024 * 1024),
                            rotate_s=args.rotate_minutes * 60, flush_interval_s=args.flush_s,
                            fsync=args.fsync)
    except ConfigurationError as e:
        print(f"trifecta record: {e}", file=sys.stderr)
        return 1

    def show(line: str) -> None:
        print(f"\r{line}", end="", file=sys.stderr, flush=True)

    try:
        with recorder:
            if adapter is not None:
                result = asyncio.run(record_adapter(
                    adapter, recorder, args.instrument, duration_s=args.duration,
                    max_messages=args.max_messages, on_progress=show))
            else:
                result = asyncio.run(record_websocket(
                    args.url, recorder, send=args.send, rest=args.rest,
                    duration_s=args.duration, max_messages=args.max_messages,
                    allow_remote=args.live, on_progress=show))
    except ConfigurationError as e:
        print(f"trifecta record: {e}", file=sys.stderr)
        return 1
    except (OSError, WebSocketException) as e:  # refused, reset, bad handshake
        print(f"\ntrifecta record: connection failed: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        result = CaptureResult(recorder.stats.messages, "interrupted")
    print(f"\n{recorder.stats.view()}; stopped: {result.reason}", file=sys.stderr)
    for p in recorder.paths:
        print(p)
    limited = args.duration is not None or args.max_messages is not None
    return 1 if (limited and result.reason == "closed") else 0


def _load_adapter(spec: str) -> VenueAdapter:
    module, _, attr = spec.partition(":")
    if not module or not attr:
        raise ConfigurationError(f"--adapter must be MODULE:FACTORY, got {spec!r}")
    try:
        factory = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise ConfigurationError(f"--adapter {spec}: {e}") from None
    adapter = factory()
    if not isinstance(adapter, VenueAdapter):
        raise ConfigurationError(f"--adapter {spec} did not return a VenueAdapter")
    return adapter


def add_replay_args(parser: argparse.ArgumentParser) -> None:
    """Options of `trifecta replay`."""
    parser.add_argument("paths", nargs="*", type=Path, default=[DEFAULT_DATA_DIR],
                        help="recordings or folders (default: data/recorded)")
    parser.add_argument("--speed", type=float, default=0.0,
                        help="1 = real time, 10 = ten times faster, 0 = max speed (default)")
    parser.add_argument("--redis-url",
                        default=os.environ.get("TRIFECTA_REDIS_URL", "redis://127.0.0.1:6379/0"),
                        help="Redis to publish md.* to (default $TRIFECTA_REDIS_URL)")
    parser.add_argument("--dry-run", action="store_true",
                        help="run the pipeline and print the counts without publishing")
    parser.add_argument("--own-timelines", action="store_true",
                        help="start every dataset at the same moment (datasets years apart)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--depth", type=int, default=20, help="book levels per side (20)")
    parser.add_argument("--batch-size", type=int, default=500, help="events per XADD pipeline")
    parser.add_argument("--max-events", type=int, default=0, help="stop after N (0 = all)")
    parser.add_argument("--summary-json", type=Path, default=None,
                        help="also write the per-file summary as JSON here")


def replay_main(args: argparse.Namespace) -> int:
    """Run `trifecta replay`; prints the per-file summary. 0 on success, 1 on a bad path or an
    unreachable Redis."""
    try:
        summary = asyncio.run(_replay(args))
    except ConfigurationError as e:
        print(f"trifecta replay: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"trifecta replay: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    print(summary.render())
    if args.summary_json is not None:
        args.summary_json.parent.mkdir(parents=True, exist_ok=True)
        args.summary_json.write_text(json.dumps(summary.as_dict(), indent=2))
    return 0


async def _replay(args: argparse.Namespace) -> Any:
    from redis import exceptions as redis_errors
    from redis.asyncio import Redis

    from libs.common.bus import Publisher, ensure_groups
    from services.intake.recording.engine import replay
    from services.intake.recording.sinks import MemorySink

    common = dict(own_timelines=args.own_timelines, progress=not args.no_progress,
                  batch_size=args.batch_size, depth=args.depth, max_events=args.max_events)
    if args.dry_run:
        return await replay(args.paths, args.speed, MemorySink(), **common)
    redis = Redis.from_url(args.redis_url)
    try:
        try:
            await ensure_groups(redis)  # every group exists at id 0 before we publish
        except (redis_errors.ConnectionError, redis_errors.TimeoutError) as e:
            raise OSError(f"Redis {args.redis_url} unreachable: {e}") from e
        return await replay(args.paths, args.speed, Publisher(redis, "intake"), **common)
    finally:
        await redis.aclose()
