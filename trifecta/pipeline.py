"""Run all six services as processes on one machine, against a configured or private Redis."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from redis import Redis

from libs.common.bus import FIELD
from libs.common.events import Event, decode
from libs.common.redis_server import RedisServer, free_port
from libs.common.streams import ALL_STREAMS, DLQ, MD_BARS, MD_BOOKS, MD_QUOTES, SUBSCRIPTIONS
from trifecta.summary import summarize

SERVICES = ("intake", "scanner", "decision", "execution", "oms", "learning", "dashboard")
ROOT = Path(__file__).resolve().parent.parent


class ServiceDied(RuntimeError):
    pass


class Pipeline:
    """The six services as child processes. Use as a context manager."""

    def __init__(self, redis_url: str | None = None, env: dict[str, str] | None = None,
                 log_dir: Path | None = None) -> None:
        self.redis_url = redis_url or os.environ.get("TRIFECTA_REDIS_URL") or None
        self.env = env or {}
        self.log_dir = log_dir or ROOT / "var" / "logs"
        self.redis_server: RedisServer | None = None
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.ports: dict[str, int] = {}
        self.started = time.monotonic()

    # ---- lifecycle -----------------------------------------------------------------------
    def start(self) -> Pipeline:
        if not self.redis_url:
            self.redis_server = RedisServer().start()
            self.redis_url = self.redis_server.url
        self.redis = Redis.from_url(self.redis_url)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name in SERVICES:
            port = free_port()
            env = {**os.environ, **self.env, "TRIFECTA_REDIS_URL": self.redis_url,
                   "TRIFECTA_HTTP_PORT": str(port), "TRIFECTA_LOG_JSON": "true",
                   "PYTHONUNBUFFERED": "1"}
            if name == "dashboard":  # last: it polls the /health of the ones started before it
                env["TRIFECTA_DASHBOARD_HEALTH_URLS"] = json.dumps(
                    {n: self.url(n, "/health") for n in self.ports})
            log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 (owned by the proc)
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", f"services.{name}"], cwd=ROOT, env=env,
                stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)  # Ctrl-C goes to the runner, which stops them in order
            self.ports[name] = port
        self.started = time.monotonic()
        return self

    def stop(self) -> dict[str, int]:
        """SIGTERM every service, wait for a clean exit; return the exit codes."""
        codes: dict[str, int] = {}
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in self.procs.items():
            try:
                codes[name] = proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                codes[name] = proc.wait()
        if self.redis_server:
            self.redis_server.stop()
        return codes

    def __enter__(self) -> Pipeline:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- observation ---------------------------------------------------------------------
    def url(self, name: str, path: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}{path}"

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                tail = self.log_tail(name)
                raise ServiceDied(f"{name} exited with code {proc.returncode}; last log:\n{tail}")

    def log_tail(self, name: str, lines: int = 15) -> str:
        path = self.log_dir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) \
            if path.exists() else ""

    def health(self, name: str) -> dict[str, Any] | None:
        try:
            return httpx.get(self.url(name, "/health"), timeout=2).json()
        except (httpx.HTTPError, json.JSONDecodeError):
            return None

    def metrics(self, name: str) -> str:
        return httpx.get(self.url(name, "/metrics"), timeout=5).text

    def backlog(self) -> dict[str, int]:
        """Per group: entries not yet delivered plus delivered but not acked."""
        out: dict[str, int] = {}
        for group, streams in SUBSCRIPTIONS.items():
            total = 0
            for stream in streams:
                for g in self.redis.xinfo_groups(stream):
                    if g["name"].decode() == group:
                        lag = g.get("lag")
                        if lag is None:
                            last = g["last-delivered-id"].decode()
                            lag = len(self.redis.xrange(stream, min=f"({last}", max="+")) \
                                if last != "0-0" else self.redis.xlen(stream)
                        total += int(lag) + int(g["pending"])
            out[group] = total
        return out

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        pending = set(SERVICES)
        while pending:
            self.check_alive()
            for name in list(pending):
                h = self.health(name)
                if h and h.get("status") == "RUNNING":
                    pending.discard(name)
            if time.monotonic() > deadline:
                raise TimeoutError(f"not healthy after {timeout} s: {sorted(pending)}")
            time.sleep(0.2)

    def progress(self) -> tuple[bool, str]:
        """(drained, one progress line)."""
        intake = self.health("intake") or {}
        lengths = {s: self.redis.xlen(s) for s in ALL_STREAMS}
        backlog = self.backlog()
        done = bool(intake.get("replay_done")) and not any(backlog.values())
        line = (f"[{time.monotonic() - self.started:6.1f}s] intake "
                f"{intake.get('published', 0):,} events "
                f"({'done' if intake.get('replay_done') else 'replaying'}) | "
                f"opportunities {lengths['opportunities']:,} | intents "
                f"{lengths['orders.intents']:,} | denied {lengths['decisions.rejected']:,} | "
                f"reports {lengths['orders.reports']:,} | trades {lengths['oms.trades']:,} | "
                f"backlog " + " ".join(f"{g} {n:,}" for g, n in backlog.items() if n))
        return done, line

    def wait_drained(self, timeout: float = 600, on_progress: Any = None,
                     every: float = 1.0) -> None:
        deadline = time.monotonic() + timeout
        stable = 0
        while stable < 2:
            self.check_alive()
            done, line = self.progress()
            stable = stable + 1 if done else 0
            if on_progress:
                on_progress(line)
            if time.monotonic() > deadline:
                raise TimeoutError(f"pipeline not drained after {timeout} s: {line}")
            time.sleep(every)

    # ---- reading what happened -----------------------------------------------------------
    def events(self, stream: str) -> Iterator[Event]:
        last = "-"
        while True:
            rows = self.redis.xrange(stream, min=last, max="+", count=5000)
            if last != "-":
                rows = rows[1:]
            if not rows:
                return
            for _entry_id, fields in rows:
                yield decode(fields[FIELD.decode()] if FIELD.decode() in fields
                             else fields[FIELD])
            last = rows[-1][0].decode()

    def summary(self) -> dict[str, Any]:
        skip = {MD_BOOKS, MD_BARS, MD_QUOTES, DLQ}
        events = {s: list(self.events(s)) for s in ALL_STREAMS if s not in skip}
        lengths = {s: self.redis.xlen(s) for s in ALL_STREAMS}
        return summarize(events, lengths, lengths[DLQ])
