"""The dashboard service as a process on a real Redis: snapshot, WebSocket, kill switch, and
the `trifecta status|kill|resume` commands."""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from redis import Redis as SyncRedis

from libs.common.bus import FIELD
from libs.common.enums import DenialReason, Engine
from libs.common.events import KillSwitchSet, decode, encode
from libs.common.redis_server import free_port
from libs.common.streams import (
    CONTROL,
    DECISIONS_REJECTED,
    DLQ,
    LEARNING_POLICIES,
    OMS_POSITIONS,
    OPPORTUNITIES,
)
from libs.common.testing import factories as f
from services.dashboard.domain.views import DashboardState
from trifecta.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "s3cret-dashboard-token-not-for-logs"


@dataclass
class RunningDashboard:
    url: str
    log: Path
    proc: subprocess.Popen[bytes]


@contextlib.contextmanager
def start_dashboard(redis_url: str, log_dir: Path, token: str | None = TOKEN,
                    health_urls: dict[str, str] | None = None) -> Iterator[RunningDashboard]:
    """`python -m services.dashboard` on a free port; stopped with SIGTERM afterwards."""
    port = free_port()
    env = {**os.environ, "TRIFECTA_REDIS_URL": redis_url, "TRIFECTA_HTTP_PORT": str(port),
           "TRIFECTA_MODE": "PAPER", "TRIFECTA_LOG_JSON": "true", "PYTHONUNBUFFERED": "1",
           "TRIFECTA_DASHBOARD_HEALTH_URLS": json.dumps(health_urls or {}),
           "TRIFECTA_DASHBOARD_HEALTH_INTERVAL_S": "0.3"}
    env.pop("TRIFECTA_DASHBOARD_TOKEN", None)
    if token is not None:
        env["TRIFECTA_DASHBOARD_TOKEN"] = token
    log = log_dir / f"dashboard-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "services.dashboard"], cwd=ROOT,
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, log.read_text()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=1).json().get("status") == "RUNNING":
                    break
            assert time.monotonic() < deadline, "dashboard not RUNNING after 20 s"
            time.sleep(0.1)
        yield RunningDashboard(url, log, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def dashboard(redis_url: str, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[RunningDashboard]:
    with start_dashboard(redis_url, tmp_path_factory.mktemp("dash")) as running:
        yield running


def publish(redis_url: str, stream: str, payload: bytes) -> str:
    client = SyncRedis.from_url(redis_url)
    try:
        return client.xadd(stream, {FIELD: payload}).decode()
    finally:
        client.close()


def last_control(redis_url: str) -> tuple[str, KillSwitchSet]:
    client = SyncRedis.from_url(redis_url)
    try:
        [(entry_id, fields)] = client.xrevrange(CONTROL, count=1)
    finally:
        client.close()
    event = decode(fields[FIELD])
    assert isinstance(event, KillSwitchSet)
    return entry_id.decode(), event


def wait_for(check: Any, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


# ---- the view model (pure) ------------------------------------------------------------------
def test_view_keeps_an_older_policy_version_from_replacing_a_newer_one() -> None:
    state = DashboardState(mode="DEMO")
    assert state.apply(f.policy(version=4), now_ns=10)[0]["data"]["version"] == 4
    assert state.apply(f.policy(version=3), now_ns=11) == []
    assert state.snapshot()["policies"][0]["version"] == 4


def test_view_drops_a_position_once_flat_and_numbers_messages_in_order() -> None:
    state = DashboardState(mode="DEMO")
    first = state.apply(f.position(), now_ns=1)
    flat = state.apply(f.position(quantity=Decimal(0)), now_ns=2)
    assert [first[0]["seq"], flat[0]["seq"]] == [1, 2]
    assert flat[0]["data"]["open"] is False
    assert state.snapshot()["positions"] == []


def test_view_counts_denials_by_reason_and_reads_kill_switch_states() -> None:
    state = DashboardState(mode="DEMO", last_n=2)
    for _ in range(3):
        state.apply(f.denied(), now_ns=1)
    state.apply(f.denied(reason=DenialReason.KILL_SWITCH), now_ns=1)
    snap = state.snapshot()
    assert snap["denial_counts"] == {DenialReason.MIN_NET_EDGE.value: 3,
                                     DenialReason.KILL_SWITCH.value: 1}
    assert len(snap["decisions"]) == 2  # bounded by last_n
    state.apply(f.kill_switch(active=True, reduce_only=True), now_ns=1)
    assert state.kill_switch == "REDUCING"
    state.apply(f.kill_switch(active=False), now_ns=1)
    assert state.kill_switch == "RUNNING"


def test_view_keeps_an_unreadable_dlq_entry_with_the_reason() -> None:
    state = DashboardState(mode="DEMO")
    [msg] = state.apply_dlq(b"[not json", "1-0")
    assert msg["type"] == "dlq"
    assert msg["data"]["reason"].startswith("unreadable dlq entry")


# ---- the service ------------------------------------------------------------------------------
def test_snapshot_shows_the_mode_and_health_has_no_token(dashboard: RunningDashboard) -> None:
    snap = httpx.get(f"{dashboard.url}/api/snapshot", timeout=3).json()
    assert snap["v"] == 1
    assert snap["mode"] == "PAPER"
    health = httpx.get(f"{dashboard.url}/health", timeout=3).json()
    assert health["service"] == "dashboard"
    assert health["controls_enabled"] is True
    assert TOKEN not in json.dumps(health)
    assert "trifecta_" in httpx.get(f"{dashboard.url}/metrics", timeout=3).text


async def test_websocket_pushes_versioned_increments_for_new_events(
        dashboard: RunningDashboard, redis_url: str) -> None:
    ws_url = dashboard.url.replace("http://", "ws://") + "/ws"
    async with websockets.connect(ws_url) as ws:
        hello = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert (hello["v"], hello["type"], hello["data"]["mode"]) == (1, "hello", "PAPER")
        opp = f.arbitrage(opportunity_id="opp-ws-1")
        publish(redis_url, OPPORTUNITIES, b'{"kind": "opportunity.arbitrage"}')  # invalid
        publish(redis_url, OPPORTUNITIES, encode(opp))
        publish(redis_url, DECISIONS_REJECTED, encode(f.denied(opportunity_id="opp-ws-1")))
        publish(redis_url, OMS_POSITIONS, encode(f.position()))
        publish(redis_url, LEARNING_POLICIES, encode(f.policy(version=7)))
        publish(redis_url, DLQ, json.dumps({"stream": OPPORTUNITIES, "entry_id": "9-0",
                                            "group": "decision", "payload": "{}",
                                            "reason": "bad payload", "ts_ns": 5}).encode())
        got: list[dict[str, Any]] = []
        while len(got) < 5:
            got.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
    assert [m["type"] for m in got] == ["opportunity", "decision", "position", "policy", "dlq"]
    assert all(m["v"] == 1 for m in got)
    seqs = [m["seq"] for m in got]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5
    assert got[0]["data"]["opportunity_id"] == "opp-ws-1"
    assert Decimal(got[0]["data"]["net_edge_bps"]) == opp.net_edge_bps
    assert got[1]["data"]["denial_counts"][DenialReason.MIN_NET_EDGE.value] >= 1
    assert got[3]["data"]["version"] == 7
    assert got[4]["data"]["reason"] == "bad payload"
    snap = httpx.get(f"{dashboard.url}/api/snapshot", timeout=3).json()
    assert snap["bad_entries"] >= 1  # the invalid entry was counted, the rest kept flowing
    assert snap["seq"] >= seqs[-1]
    assert any(o["opportunity_id"] == "opp-ws-1" for o in snap["opportunities"]["ARBITRAGE"])
    assert Engine.ARBITRAGE.value in snap["opportunities"]


def test_kill_needs_the_bearer_token(dashboard: RunningDashboard) -> None:
    no_auth = httpx.post(f"{dashboard.url}/api/kill", json={"state": "HALT"}, timeout=3)
    wrong = httpx.post(f"{dashboard.url}/api/kill", json={"state": "HALT"}, timeout=3,
                       headers={"Authorization": "Bearer nope"})
    bad_state = httpx.post(f"{dashboard.url}/api/kill", json={"state": "PANIC"}, timeout=3,
                           headers={"Authorization": f"Bearer {TOKEN}"})
    assert (no_auth.status_code, wrong.status_code, bad_state.status_code) == (401, 401, 422)


@pytest.mark.parametrize(("state", "active", "reduce_only", "shown"), [
    ("HALT", True, False, "HALTED"), ("REDUCE", True, True, "REDUCING"),
    ("RESUME", False, False, "RUNNING")])
def test_kill_publishes_a_kill_switch_event_to_control(
        dashboard: RunningDashboard, redis_url: str, state: str, active: bool,
        reduce_only: bool, shown: str) -> None:
    resp = httpx.post(f"{dashboard.url}/api/kill", json={"state": state}, timeout=3,
                      headers={"Authorization": f"Bearer {TOKEN}"})
    assert resp.status_code == 200, resp.text
    entry_id, event = last_control(redis_url)
    assert entry_id == resp.json()["entry_id"]
    assert (event.active, event.reduce_only) == (active, reduce_only)
    wait_for(lambda: httpx.get(f"{dashboard.url}/api/snapshot",
                               timeout=3).json()["kill_switch"] == shown)
    assert TOKEN not in dashboard.log.read_text()


@pytest.fixture(scope="module")
def bare_dashboard(redis_url: str, tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[RunningDashboard]:
    """No token configured, and one health URL where nothing listens."""
    dead = f"http://127.0.0.1:{free_port()}/health"
    with start_dashboard(redis_url, tmp_path_factory.mktemp("bare"), token=None,
                         health_urls={"oms": dead}) as running:
        yield running


def test_controls_are_disabled_without_a_token(bare_dashboard: RunningDashboard) -> None:
    resp = httpx.post(f"{bare_dashboard.url}/api/kill", json={"state": "HALT"}, timeout=3,
                      headers={"Authorization": "Bearer anything"})
    assert resp.status_code == 403
    assert "TRIFECTA_DASHBOARD_TOKEN" in resp.json()["error"]
    health = httpx.get(f"{bare_dashboard.url}/health", timeout=3).json()
    assert health["controls_enabled"] is False


def test_health_panel_marks_an_unreachable_service_down(
        bare_dashboard: RunningDashboard) -> None:
    def oms_row() -> dict[str, Any] | None:
        rows = httpx.get(f"{bare_dashboard.url}/api/snapshot", timeout=3).json()["health"]
        return next((r for r in rows if r["service"] == "oms"), None)
    row = wait_for(oms_row)
    assert row["status"] == "DOWN"
    assert row["reason"]  # the transport error's name


# ---- the CLI ----------------------------------------------------------------------------------
def trifecta(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`trifecta ARGS` in-process (the same `main` the console script calls)."""
    code = cli_main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_status_prints_a_table_and_fails_when_a_service_is_down(
        dashboard: RunningDashboard, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = trifecta(capsys, "status", "--url", f"dashboard={dashboard.url}/health")
    assert code == 0, out + err
    assert [line.split()[:2] for line in out.splitlines()[1:]] == [["dashboard", "RUNNING"]]
    dead = f"http://127.0.0.1:{free_port()}/health"
    code, out, _ = trifecta(capsys, "status", "--url", f"dashboard={dashboard.url}/health",
                            "--url", f"oms={dead}")
    assert code == 1
    rows = {line.split()[0]: line.split()[1] for line in out.splitlines()[1:]}
    assert rows == {"dashboard": "RUNNING", "oms": "DOWN"}


def test_status_rejects_a_malformed_url(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = trifecta(capsys, "status", "--url", "oms")
    assert code == 2
    assert "NAME=http" in err


def test_kill_publishes_halt_to_control(redis_url: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = trifecta(capsys, "kill", "--redis-url", redis_url)
    assert code == 0, err
    entry_id, event = last_control(redis_url)
    assert (event.active, event.reduce_only) == (True, False)
    assert entry_id in out


def test_kill_reduce_reads_the_redis_url_from_the_environment(
        redis_url: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIFECTA_REDIS_URL", redis_url)
    code, _, err = trifecta(capsys, "kill", "--reduce")
    assert code == 0, err
    event = last_control(redis_url)[1]
    assert (event.active, event.reduce_only) == (True, True)


def test_resume_publishes_an_inactive_kill_switch(redis_url: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = trifecta(capsys, "resume", "--redis-url", redis_url, "--reason", "all clear")
    assert code == 0, err
    event = last_control(redis_url)[1]
    assert (event.active, event.reduce_only, event.reason) == (False, False, "all clear")


def test_kill_with_unreachable_redis_fails_with_one_clear_line(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = trifecta(capsys, "kill", "--redis-url", f"redis://127.0.0.1:{free_port()}/0")
    assert code == 1
    assert "cannot publish to Redis" in err
