"""Stopping a process group started with ``start_new_session`` (``dagster dev``, the stream worker's daemon) the way
a user's Ctrl-C does, and for sure: used by the drills, the UI tests and the streaming benchmarks."""

from __future__ import annotations

import os
import signal
import subprocess


def stop_process_group(process: subprocess.Popen, timeout: float = 60.0) -> None:
    """Stop ``dagster dev`` (started with ``start_new_session``): SIGINT stops its webserver, daemon and code
    servers; a group that does not stop in time is killed, so no daemon keeps launching runs afterwards."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
