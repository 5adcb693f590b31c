"""The run lock: one nightly job at a time; a lock left by a killed run is taken over."""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path


class RunLocked(RuntimeError):
    """Another congvu run is in progress."""


@contextmanager
def run_lock(path: Path, purpose: str) -> Iterator[str]:
    """Hold the lock file while the block runs; yield a note when a dead run's lock was taken over.

    The kernel drops an flock when its process dies, so a killed run never blocks the next one;
    the holder's details stay in the file, which is how the takeover is noticed and reported.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip() or "unknown"
            raise RunLocked(f"another congvu run is in progress ({holder}); lock: {path}") from None
        previous = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
        note = f"took over the lock of a run that died ({previous})" if previous else ""
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "purpose": purpose,
            "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        try:
            yield note
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
