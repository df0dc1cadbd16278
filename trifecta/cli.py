"""`trifecta run`: the whole pipeline on recorded data, with progress and a summary."""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

import httpx
from redis import Redis

from libs.common.bus import FIELD, maxlen_for
from libs.common.events import KillSwitchSet, encode
from libs.common.streams import CONTROL
from services.intake.recording.cli import (
    add_record_args,
    add_replay_args,
    record_main,
    replay_main,
)
from trifecta.pipeline import ROOT, Pipeline, ServiceDied
from trifecta.summary import render


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="trifecta", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run all six services on the bundled recordings (DEMO)")
    run.add_argument("--exit", action="store_true",
                     help="exit 0 after the summary instead of serving until Ctrl-C")
    run.add_argument("--speed", type=float, default=0.0,
                     help="replay speed: 1 = real time, 10 = ten times, 0 = max (default)")
    run.add_argument("--timeout", type=float, default=900, help="give up after N seconds")
    run.add_argument("--summary-json", type=Path, default=ROOT / "var" / "summary.json")
    replay = sub.add_parser("replay", help="play recordings into md.* streams (any format in "
                                           "data/recorded/: ours, hftbacktest, cryptofeed, CSV)")
    add_replay_args(replay)
    record = sub.add_parser("record", help="record a venue's raw messages to a file")
    add_record_args(record)
    status = sub.add_parser("status", help="each service's /health as a table; exit 1 unless "
                                           "every one is RUNNING")
    status.add_argument("--url", action="append", default=None, metavar="NAME=URL",
                        help="a service's /health URL (repeatable); default: the compose "
                             "ports 8101-8106 and the dashboard on 8080")
    status.add_argument("--timeout", type=float, default=2.0, help="seconds per request")
    for name, text in (("kill", "halt new orders (KillSwitchSet active) on the control stream"),
                       ("resume", "clear the kill switch (KillSwitchSet not active)")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--redis-url", default=os.environ.get("TRIFECTA_REDIS_URL",
                                                             "redis://127.0.0.1:6379/0"))
        p.add_argument("--reason", default=f"operator: trifecta {name}")
        if name == "kill":
            p.add_argument("--reduce", action="store_true",
                           help="reduce-only: exposure-reducing orders still pass")
    args = parser.parse_args(argv)
    if args.command == "status":
        return cmd_status(args)
    if args.command in ("kill", "resume"):
        return cmd_kill(args)
    if args.command == "run":
        return cmd_run(args)
    if args.command == "replay":
        return int(replay_main(args) or 0)
    if args.command == "record":
        return int(record_main(args) or 0)
    return 2


DEFAULT_STATUS_URLS = {name: f"http://127.0.0.1:{port}/health" for name, port in (
    ("intake", 8101), ("scanner", 8102), ("decision", 8103), ("execution", 8104),
    ("oms", 8105), ("learning", 8106), ("dashboard", 8080))}


def cmd_status(args: argparse.Namespace) -> int:
    """Print one row per service from its /health; 0 only if every one says RUNNING."""
    urls = dict(DEFAULT_STATUS_URLS)
    if args.url:
        urls = {}
        for item in args.url:
            name, sep, url = item.partition("=")
            if not sep or not name or not url.startswith(("http://", "https://")):
                print(f"trifecta status: --url wants NAME=http://host:port/health, "
                      f"not {item!r}", file=sys.stderr)
                return 2
            urls[name] = url
    rows: list[tuple[str, str, str, str]] = []
    for name, url in urls.items():
        try:
            doc = httpx.get(url, timeout=args.timeout).json()
            if not isinstance(doc, dict):
                raise ValueError("not a JSON object")
            rows.append((name, str(doc.get("status", "UNKNOWN")), str(doc.get("lag", "")),
                         str(doc.get("reason", ""))))
        except (httpx.HTTPError, ValueError) as e:
            rows.append((name, "DOWN", "", f"{type(e).__name__}: {url}"))
    print(f"{'SERVICE':<10} {'STATUS':<9} {'LAG':>8}  REASON")
    for name, state, lag, reason in rows:
        print(f"{name:<10} {state:<9} {lag:>8}  {reason}")
    return 0 if all(r[1] == "RUNNING" for r in rows) else 1


def cmd_kill(args: argparse.Namespace) -> int:
    """Publish a KillSwitchSet to the control stream (kill, kill --reduce, resume)."""
    active = args.command == "kill"
    event = KillSwitchSet(ts_event=time.time_ns(), active=active,
                          reduce_only=active and bool(getattr(args, "reduce", False)),
                          reason=args.reason)
    redis = Redis.from_url(args.redis_url, socket_connect_timeout=3)
    try:
        entry_id = redis.xadd(CONTROL, {FIELD: encode(event)}, maxlen=maxlen_for(CONTROL),
                              approximate=True)
    except Exception as e:  # connection refused, auth, ...: one clear line, no traceback
        print(f"trifecta {args.command}: cannot publish to Redis: {type(e).__name__}: {e}",
              file=sys.stderr)
        return 1
    finally:
        redis.close()
    state = "RUNNING" if not active else ("REDUCING" if event.reduce_only else "HALTED")
    print(f"kill switch -> {state} (control entry {entry_id.decode()}, {event.event_id})")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    env = {"TRIFECTA_MODE": "DEMO", "TRIFECTA_INTAKE_SPEED": str(args.speed)}
    pipeline = Pipeline(env=env)
    try:
        pipeline.start()
        where = "a private redis-server" if pipeline.redis_server else "TRIFECTA_REDIS_URL"
        print(f"trifecta: Redis {pipeline.redis_url} ({where}); services:", flush=True)
        for name, port in pipeline.ports.items():
            print(f"  {name:<9} http://127.0.0.1:{port}/health  /metrics", flush=True)
        print(f"  logs in {pipeline.log_dir}", flush=True)
        pipeline.wait_ready()
        pipeline.wait_drained(timeout=args.timeout, on_progress=lambda s: print(s, flush=True))
        summary = pipeline.summary()
        print(render(summary), flush=True)
        args.summary_json.parent.mkdir(parents=True, exist_ok=True)
        args.summary_json.write_text(json.dumps(summary, indent=2))
        print(f"summary written to {args.summary_json}", flush=True)
        if args.exit:
            return 0
        print("replay done; services keep serving (Ctrl-C to stop)", flush=True)
        while True:
            pipeline.check_alive()
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nstopping...", flush=True)
        return 0
    except (ServiceDied, TimeoutError) as e:
        print(f"trifecta: {e}", file=sys.stderr, flush=True)
        return 1
    finally:
        codes = pipeline.stop()
        bad = {n: c for n, c in codes.items() if c not in (0, -15)}
        if bad:
            print(f"trifecta: services exited uncleanly: {bad}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
