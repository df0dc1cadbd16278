"""No secret is committed, and a secret given to a service never leaves it through its log
or its /health endpoint."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from libs.common.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]

# (name, pattern): what a committed credential looks like.
PATTERNS = [
    ("aws access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("private key block", re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP )?PRIVATE KEY")),
    ("token assigned to a secret name", re.compile(
        r"""(?ix)\b[\w.-]*(?:api[_-]?key|secret|token|passw(?:or)?d|private[_-]?key)[\w.-]*
            \s*["']?\s*[:=]\s*["']?
            (?P<value>[0-9a-f]{32,}|[A-Za-z0-9+/_-]{32,}={0,2})(?![A-Za-z0-9+/_-])""")),
]
# Files whose matches are test fixtures or public data, not credentials (path prefix).
ALLOWED_PREFIXES = ("data/recorded/",)
# Fake secrets that test fixtures use on purpose: (path, start of the match).
ALLOWED_FIXTURES = {("tests/integration/test_dashboard.py", 'TOKEN = "s3cret-dashboard-token')}
# Public values that look like tokens: recorded chain data (hashes, addresses) is public.
ALLOWED_VALUE = re.compile(r"^0x[0-9a-fA-F]+$|^(?:x{8,}|X{8,}|0{8,}|(?:ab|12){8,})")
SKIP_SUFFIXES = (".png", ".jpg", ".gz", ".zip", ".parquet", ".ico", ".woff", ".woff2")


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                         check=True).stdout
    return [p for p in out.decode().split("\0") if p]


def findings(path: str, text: str) -> list[tuple[str, str, int, str]]:
    """(path, kind, line, excerpt) for each credential-looking match not allow-listed."""
    found = []
    for kind, pattern in PATTERNS:
        for m in pattern.finditer(text):
            value = m.groupdict().get("value")
            if value is not None and (ALLOWED_VALUE.match(value) or _is_placeholder(value)):
                continue
            if any(path == p and m.group(0).startswith(s) for p, s in ALLOWED_FIXTURES):
                continue
            line = text.count("\n", 0, m.start()) + 1
            found.append((path, kind, line, m.group(0)[:60]))
    return found


def _is_placeholder(value: str) -> bool:
    # Not tokens: words without digits, runs of few characters, and snake_case identifiers
    # (`TOKEN0 = function_signature_to_4byte_selector(...)`).
    return (not re.search(r"\d", value) or len(set(value)) < 8
            or re.fullmatch(r"[a-z0-9]+(?:_[a-z0-9]+)+", value) is not None)


def test_the_scanner_flags_the_credentials_it_is_meant_to_catch() -> None:
    aws = "AKIA" + "Q3EXAMPLE7HZ2KD4"
    hexkey = "9f2c41d07be85a36" * 3
    pem = "-----BEGIN " + "PRIVATE KEY-----"
    text = f'key = "{aws}"\nAPI_SECRET="{hexkey}"\n{pem}\nname = "snake_case_identifier_only"\n'
    kinds = [k for _, k, _, _ in findings("x.py", text)]
    assert kinds.count("aws access key id") == 1
    assert kinds.count("private key block") == 1
    assert kinds.count("token assigned to a secret name") == 1


def test_no_tracked_file_holds_a_credential() -> None:
    files = tracked_files()
    assert len(files) > 50  # we really are looking at the repository
    found = []
    for path in files:
        if path.startswith(ALLOWED_PREFIXES) or path.endswith(SKIP_SUFFIXES):
            continue
        full = ROOT / path
        if not full.is_file() or full.stat().st_size > 2_000_000:
            continue
        found += findings(path, full.read_text(errors="replace"))
    assert found == []


class _Recorder(BaseHTTPRequestHandler):
    """A JSON-RPC endpoint that records each path and answers every call with an error."""

    paths: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        self.paths.append(self.path)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"jsonrpc": "2.0", "id": 1, "error": {"code": -32000, "message": "nope"}}'
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def rpc() -> Iterator[tuple[str, list[str]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.paths = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.paths
    server.shutdown()
    server.server_close()


def test_a_secret_rpc_url_never_reaches_the_log_or_health(
        redis_url: str, rpc: tuple[str, list[str]], tmp_path: Path) -> None:
    """Intake in live mode polls a DEX pool through an RPC URL whose path is the API key; the
    local endpoint fails every call, so the adapter logs errors. The key must not appear."""
    base, paths = rpc
    secret = "k3y" + "7f1e9a2c5b8d4e60" * 2
    port = free_port()
    env = {**os.environ, "TRIFECTA_REDIS_URL": redis_url, "TRIFECTA_HTTP_PORT": str(port),
           "TRIFECTA_LOG_JSON": "true", "TRIFECTA_LOG_LEVEL": "DEBUG",
           "PYTHONUNBUFFERED": "1", "TRIFECTA_INTAKE_SOURCE": "live",
           "TRIFECTA_DEX_RPC_URLS": f'{{"ARBITRUM": "{base}/v2/{secret}"}}',
           "TRIFECTA_DEX_POOLS":
               '{"ARBITRUM": [{"address": "0xC31E54c7a869B9FcBEcc14363CF510d1c41fa443"}]}',
           "TRIFECTA_DEX_POLL_INTERVAL_S": "0.2", "TRIFECTA_DEX_MAX_BACKOFF_S": "0.5",
           "TRIFECTA_DEX_REQUEST_TIMEOUT_S": "2"}
    log = tmp_path / "intake.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "services.intake"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    health: list[str] = []
    try:
        deadline = time.monotonic() + 25
        while time.monotonic() < deadline and (len(paths) < 3 or not health):
            assert proc.poll() is None, log.read_text()
            try:
                health.append(httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).text)
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
    finally:
        proc.terminate()
        proc.wait(15)
    assert len(paths) >= 3 and all(p == f"/v2/{secret}" for p in paths)  # the key was used
    assert health
    text = log.read_text(errors="replace")
    assert text  # the service did log
    assert secret not in text
    assert all(secret not in h for h in health)
