"""`trifecta run`: the whole pipeline on recorded data, with progress and a summary."""
from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path

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
    args = parser.parse_args(argv)
    if args.command == "run":
        return cmd_run(args)
    if args.command == "replay":
        return int(replay_main(args) or 0)
    if args.command == "record":
        return int(record_main(args) or 0)
    return 2


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
