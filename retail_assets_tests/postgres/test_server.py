"""The test server itself (server.py): a missing package is named with its install command, a port taken between
finding it and binding it is retried, and a stopped server leaves no process and no directory."""

from __future__ import annotations

import socket
import time

import psutil
import pytest

from retail_assets_tests.postgres import server


def test_missing_server_binaries_say_how_to_install_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server, "BIN_GLOB", "/nonexistent/postgresql/*/bin")
    with pytest.raises(server.PostgresUnavailable, match=r"apt-get install postgresql"):
        server.start_postgres()


def test_a_taken_port_is_retried_and_a_stopped_server_leaves_nothing_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        taken_port = taken.getsockname()[1]
        offered = iter([taken_port])
        free_port = server._free_port
        monkeypatch.setattr(server, "_free_port", lambda: next(offered, None) or free_port())
        started = server.start_postgres()
    try:
        assert started.port != taken_port
        assert started.query("postgres", "SELECT 1") == [(1,)]
        postmaster = int((started.data_dir / "postmaster.pid").read_text().split()[0])
    finally:
        started.stop()
    assert not started.root.exists()
    assert _ended(postmaster), f"the postmaster (pid {postmaster}) still runs"


def _ended(pid: int, seconds: float = 10.0) -> bool:
    """The process exited (pg_ctl's wait ends when the pid file goes, a moment before the process does)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False
