"""SIGTERM to `steward dashboard` or `steward demo` stops every server it started and
frees the port: nothing keeps answering after the command is gone."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

STEWARD = [sys.executable, "-m", "steward"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answering(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def env_without_steward(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEWARD_")}
    env.update(extra)
    return env


def tree(proc: subprocess.Popen[bytes]) -> list[psutil.Process]:
    try:
        top = psutil.Process(proc.pid)
        return [top, *top.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def wait_for_port(proc: subprocess.Popen[bytes], port: int, log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if answering(port):
            return
        if proc.poll() is not None:
            pytest.fail(f"exited early with {proc.returncode}:\n{log.read_text()}")
        time.sleep(0.5)
    pytest.fail(f"nothing answered on port {port} within {seconds:.0f} s:\n{log.read_text()}")


def assert_all_gone(procs: list[psutil.Process], port: int) -> None:
    _gone, alive = psutil.wait_procs(procs, timeout=30)
    assert not alive, f"still running: {[p.cmdline() for p in alive]}"
    assert not answering(port)
    with socket.socket() as sock:  # the port can be taken again
        sock.bind(("127.0.0.1", port))


def stop_leftovers(procs: list[psutil.Process]) -> None:
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()


@pytest.mark.slow
def test_sigterm_to_steward_dashboard_stops_the_server(tmp_path: Path) -> None:
    config = tmp_path / "steward.yaml"
    config.write_text(
        f"database: {{url: 'sqlite:///{tmp_path / 's.db'}'}}\n"
        "commons: [{slug: c, name: C, resources: [{slug: fund, name: Fund, kind: stock}]}]\n",
        encoding="utf-8",
    )
    subprocess.run([*STEWARD, "-c", str(config), "db", "upgrade"], check=True, capture_output=True)
    port = free_port()
    log = tmp_path / "dashboard.log"
    proc = subprocess.Popen(
        [*STEWARD, "-c", str(config), "dashboard", "--port", str(port)],
        env=env_without_steward(),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    started: list[psutil.Process] = []
    try:
        wait_for_port(proc, port, log, 120)
        started = tree(proc)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        assert_all_gone(started, port)
    finally:
        if proc.poll() is None:
            proc.kill()
        stop_leftovers(started)


@pytest.mark.slow
def test_sigterm_to_steward_demo_stops_the_scheduler_and_the_server(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "demo.log"
    proc = subprocess.Popen(
        [*STEWARD, "demo", "--dir", str(tmp_path / "demo")],
        env=env_without_steward(STEWARD_DASHBOARD_PORT=str(port)),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    started: list[psutil.Process] = []
    try:
        wait_for_port(proc, port, log, 900)
        started = tree(proc)
        assert len(started) >= 3  # the demo, `steward run` and the dashboard server
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        assert_all_gone(started, port)
        assert "Notification inbox: http://127.0.0.1:" in log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
        stop_leftovers(started)
