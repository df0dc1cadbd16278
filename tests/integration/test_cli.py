"""The `trifecta` command as a user runs it."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def trifecta(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trifecta", *args], cwd=ROOT, text=True,
                          capture_output=True, timeout=timeout)


def test_replay_dry_run_reads_a_recording_and_summarises_it(tmp_path: Path) -> None:
    out = tmp_path / "summary.json"
    proc = trifecta("replay", "--dry-run", "--no-progress", "--summary-json", str(out),
                    "data/recorded/forex/truefx")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert doc["by_stream"]["md.quotes"] == 1001  # 1,000 ticks + the end-of-replay marker
    assert "truefx-ticks" in proc.stdout


def test_replay_of_a_missing_path_fails_with_a_clear_error() -> None:
    proc = trifecta("replay", "--dry-run", "--no-progress", "data/recorded/no-such-file.gz")
    assert proc.returncode != 0
    assert "no-such-file" in proc.stderr


def test_record_refuses_a_remote_host_without_live() -> None:
    proc = trifecta("record", "--url", "wss://stream.binance.com:9443/ws", "--venue", "BINANCE",
                    "--out", "/tmp/trifecta-rec-test", "--max-messages", "1")
    assert proc.returncode != 0
    assert "loopback" in (proc.stderr + proc.stdout).lower()
