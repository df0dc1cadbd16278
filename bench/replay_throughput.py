"""Replay throughput: the BTC window through intake -> scanner at max speed, beside the raw
redis-py ceiling (pipelined XADD x100, XREADGROUP COUNT 500 + one XACK) measured in the same run
on the same private Redis with the same payload size.

    .venv/bin/python bench/replay_throughput.py [--repeat 1]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from redis import Redis
from redis.asyncio import Redis as AsyncRedis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from libs.common.bus import FIELD  # noqa: E402
from libs.common.redis_server import RedisServer, free_port  # noqa: E402


async def raw_ceiling(url: str, payload: bytes, n: int) -> float:
    """msg/s of a raw redis-py producer and consumer running concurrently."""
    r = AsyncRedis.from_url(url)
    stream = f"bench-raw-{time.time_ns()}"
    await r.xgroup_create(stream, "g", id="0", mkstream=True)
    done = asyncio.Event()

    async def produce() -> None:
        for i in range(0, n, 100):
            pipe = r.pipeline(transaction=False)
            for _ in range(min(100, n - i)):
                pipe.xadd(stream, {FIELD: payload})
            await pipe.execute()

    async def consume() -> None:
        seen = 0
        while seen < n:
            resp = await r.xreadgroup("g", "c", {stream: ">"}, count=500, block=100)
            for _, entries in resp or []:
                ids = [eid for eid, _ in entries]
                seen += len(ids)
                await r.xack(stream, "g", *ids)
        done.set()

    t0 = time.perf_counter()
    await asyncio.gather(produce(), consume())
    elapsed = time.perf_counter() - t0
    await r.delete(stream)
    await r.aclose()
    return n / elapsed


def pipeline_rate(url: str) -> dict[str, float]:
    """Start intake (Binance BTC window only) and scanner; time until scanner has drained."""
    env = {**os.environ, "TRIFECTA_REDIS_URL": url, "TRIFECTA_INTAKE_DATASETS": '["binance"]',
           "TRIFECTA_LOG_JSON": "true"}
    ports = {"intake": free_port(), "scanner": free_port()}
    r = Redis.from_url(url)
    r.flushdb()
    t0 = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", f"services.{name}"], cwd=ROOT,
                              env={**env, "TRIFECTA_HTTP_PORT": str(port)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for name, port in ports.items()]
    intake_done_at = None
    try:
        while True:
            time.sleep(0.05)
            try:
                intake = httpx.get(f"http://127.0.0.1:{ports['intake']}/health", timeout=1).json()
                scanner = httpx.get(f"http://127.0.0.1:{ports['scanner']}/health",
                                    timeout=1).json()
            except httpx.HTTPError:
                continue
            if intake.get("replay_done") and intake_done_at is None:
                intake_done_at = time.perf_counter()
            groups = {g["name"].decode(): g for g in r.xinfo_groups("md.books")}
            g = groups.get("scanner")
            drained = (g is not None and g["pending"] == 0 and
                       g["last-delivered-id"] == r.xinfo_stream("md.books")["last-generated-id"])
            if intake_done_at and drained and scanner.get("handled", 0) >= r.xlen("md.books"):
                break
            if time.perf_counter() - t0 > 300:
                raise TimeoutError("pipeline did not drain in 300 s")
        end = time.perf_counter()
        n = r.xlen("md.books")
        published = n + r.xlen("md.trades")  # intake also publishes the trade tape
        return {"messages": n, "published": published, "opportunities": r.xlen("opportunities"),
                "intake_s": intake_done_at - t0, "total_s": end - t0,
                "intake_rate": published / (intake_done_at - t0),
                "pipeline_rate": n / (end - t0)}
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    with RedisServer() as server:
        for run in range(args.repeat):
            res = pipeline_rate(server.url)
            # same payload size as a real book event from this run
            (_, fields), = Redis.from_url(server.url).xrevrange("md.books", count=2)[1:]
            payload = fields[FIELD]
            ceiling = asyncio.run(raw_ceiling(server.url, payload, res["messages"]))
            print(f"run {run + 1}: {res['messages']:,} md.books events "
                  f"({len(payload):,} B each), {res['opportunities']:,} opportunities")
            print(f"  intake parse+publish        {res['intake_rate']:>9,.0f} msg/s "
                  f"({res['published']:,} book + trade events in {res['intake_s']:.2f} s, "
                  f"includes process start)")
            print(f"  intake -> scanner drained   {res['pipeline_rate']:>9,.0f} book msg/s "
                  f"({res['total_s']:.2f} s, includes process start)")
            print(f"  raw redis-py ceiling        {ceiling:>9,.0f} msg/s "
                  f"(pipelined XADD x100 + XREADGROUP COUNT 500 + XACK, same Redis, same run)")
            print(f"  pipeline / ceiling          {res['pipeline_rate'] / ceiling:>9.1%}")


if __name__ == "__main__":
    main()
