"""deploy/docker-compose.yml against the compose-spec schema (no Docker engine needed)."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from trifecta.pipeline import SERVICES

COMPOSE = Path(__file__).resolve().parents[2] / "deploy" / "docker-compose.yml"


def test_compose_file_validates_against_compose_spec() -> None:
    exe = shutil.which("check-jsonschema") or str(Path(sys.executable).parent /
                                                  "check-jsonschema")
    proc = subprocess.run([exe, "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_compose_runs_every_service_with_a_health_check_and_redis_with_aof() -> None:
    doc = yaml.safe_load(COMPOSE.read_text())
    services = doc["services"]
    assert set(SERVICES) <= set(services)
    for name in SERVICES:
        svc = services[name]
        assert svc["environment"]["SERVICE"] == name
        assert "/health" in " ".join(svc["healthcheck"]["test"])
        assert svc["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "--appendonly" in services["redis"]["command"]


def _docker_ok() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env(timeout=2).ping()
        return True
    except Exception:
        return False


@pytest.mark.skipif(not _docker_ok(), reason="no Docker engine on this machine")
def test_redis_container_round_trip() -> None:  # runs for real where Docker is
    redis_mod = pytest.importorskip("testcontainers.redis")
    with redis_mod.RedisContainer("redis:7-alpine") as container:
        client = container.get_client()
        client.xadd("s", {"data": "{}"})
        assert client.xlen("s") == 1
