"""Process helpers against real processes, sockets and HTTP servers."""

from __future__ import annotations

import http.server
import os
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

from nfvlib.exceptions import SandboxError, WaitTimeout
from nfvlib.sandbox import process

SLEEPER = "import time; print('ready', flush=True); time.sleep(60)"
STUBBORN = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ready', flush=True); time.sleep(60)")
PARENT = ("import subprocess, sys, time; "
          "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
          "print('child', c.pid, flush=True); time.sleep(60)")


def _wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


def _start(tmp_path: Path, code: str) -> tuple[int, Path, Path]:
    log, pid_file = tmp_path / "out.log", tmp_path / "p.pid"
    pid = process.start_detached([sys.executable, "-c", code], env=None,
                                 cwd=tmp_path, log_path=log, pid_file=pid_file)
    _wait_for(lambda: "ready" in log.read_text() or "child" in log.read_text())
    return pid, log, pid_file


def test_free_port_keeps_a_free_preferred_port():
    port = process.free_port(None)
    assert process.free_port(port) == port


def test_free_port_avoids_a_busy_port():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        other = process.free_port(port)
    assert other != port and other > 0


def test_start_detached_records_pid_and_stop_ends_it(tmp_path):
    pid, log, pid_file = _start(tmp_path, SLEEPER)
    assert process.read_pid(pid_file) == pid
    recorded_pid, start = map(int, pid_file.read_text().split())
    assert recorded_pid == pid and start == process.process_start_time(pid)
    assert os.getpgid(pid) == pid  # leads its own session and group
    assert process.rss_kb(pid) > 1000
    assert "ready" in log.read_text()

    assert process.stop(pid_file) is True
    assert not Path(f"/proc/{pid}").exists()  # stopped and reaped
    assert not pid_file.exists()
    assert process.read_pid(pid_file) is None
    assert process.stop(pid_file) is False
    assert process.rss_kb(pid) is None


def test_recycled_pid_is_not_taken_for_ours(tmp_path):
    pid_file = tmp_path / "p.pid"
    # This very process, with a start time that is not its own.
    pid_file.write_text(f"{os.getpid()} {process.process_start_time(os.getpid()) + 1}\n")
    assert process.read_pid(pid_file) is None
    assert process.stop(pid_file) is False  # and we are still here
    assert not pid_file.exists()


def test_missing_or_garbled_pid_file(tmp_path):
    assert process.read_pid(tmp_path / "absent.pid") is None
    garbled = tmp_path / "bad.pid"
    garbled.write_text("not a pid")
    assert process.read_pid(garbled) is None


def test_stop_kills_a_process_ignoring_sigterm_within_bound(tmp_path):
    pid, _, pid_file = _start(tmp_path, STUBBORN)
    began = time.monotonic()
    assert process.stop(pid_file, timeout=0.5) is True
    elapsed = time.monotonic() - began
    assert 0.5 <= elapsed < 3.0
    assert not Path(f"/proc/{pid}").exists()


def test_stop_ends_the_whole_process_group(tmp_path):
    pid, log, pid_file = _start(tmp_path, PARENT)
    child = int(log.read_text().split("child")[1].split()[0])
    assert process.pid_alive(child)
    assert process.stop(pid_file) is True
    _wait_for(lambda: not process.pid_alive(child))


class _Quiet(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server naming
        self.send_response(401)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_wait_http_accepts_any_http_answer():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v3"
        assert process.wait_http(url, timeout=5) < 5
    finally:
        server.shutdown()
        server.server_close()


def test_wait_http_fails_fast_when_the_server_process_died(tmp_path):
    pid_file = tmp_path / "p.pid"
    pid = process.start_detached([sys.executable, "-c", "pass"], None, tmp_path,
                                 tmp_path / "out.log", pid_file)
    url = f"http://127.0.0.1:{process.free_port(None)}/v3"
    began = time.monotonic()
    with pytest.raises(SandboxError, match=f"process {pid} exited"):
        process.wait_http(url, timeout=20, proc_pid=pid)
    assert time.monotonic() - began < 5


def test_wait_http_is_bounded():
    url = f"http://127.0.0.1:{process.free_port(None)}/v3"
    began = time.monotonic()
    with pytest.raises(WaitTimeout):
        process.wait_http(url, timeout=0.5)
    assert time.monotonic() - began < 2.5
