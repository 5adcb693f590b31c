"""The job's private database and the read snapshot of it that analysts open."""

from __future__ import annotations

import errno
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines.checkpoints import checkpoint
from pipelines.lake import lake_target
from pipelines.lock import run_lock
from pipelines.paths import DataPaths
from pipelines.store import DatabaseLocked, open_db

log = logging.getLogger(__name__)
PARTIAL = ".publishing"  # suffix of a snapshot being copied; a killed publish leaves one


class NoRoom(OSError):
    """A disk has less free space than the copy of a database written there needs."""

    def __init__(self, copying: str, taken: str, need: int, free: int) -> None:
        super().__init__(
            f"No space left on device: {copying} needs as much free space on its disk as "
            f"{taken} takes ({need / 1e6:.1f} MB now, more as it grows); "
            f"{free / 1e6:.1f} MB are free"
        )
        self.errno = errno.ENOSPC


def copy_or_no_room(copies: list[tuple[Path, Path]], copying: str, taken: str) -> None:
    """copy_synced each (source, target); on a full disk the cut copies go, and NoRoom says
    the space they all need (taken: what takes it) and what is free."""
    try:
        for source, target in copies:
            copy_synced(source, target)
    except OSError as exc:  # a cut copy would keep the disk full for the run's record
        for _, target in copies:
            target.unlink(missing_ok=True)
        if exc.errno != errno.ENOSPC:
            raise
        need = sum(source.stat().st_size for source, _ in copies)
        free = shutil.disk_usage(copies[0][1].parent).free
        raise NoRoom(copying, taken, need, free) from exc


def wal(path: Path) -> Path:
    """The write-ahead log DuckDB keeps beside a database file."""
    return path.with_name(path.name + ".wal")


def copy_synced(source: Path, target: Path) -> None:
    """Copy source to target and flush it to disk before anything renames it into place."""
    shutil.copyfile(source, target)
    with open(target, "rb") as copied:
        os.fsync(copied.fileno())


def sync_folder(folder: Path) -> None:
    """Flush a folder's entries, so a rename in it survives a power cut."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def adopt(paths: DataPaths, wait_s: float) -> bool:
    """Move a database written in place at data/congvu.duckdb (before the store) into the store.

    Runs under the run lock. The read-only connection held during the copy keeps any writer out,
    and the copied write-ahead log is replayed into the store copy, so nothing is lost.
    """
    if paths.store.exists() or not paths.db.exists():
        return False
    paths.store.parent.mkdir(parents=True, exist_ok=True)
    partial = paths.store.with_name(paths.store.name + PARTIAL)
    wal(partial).unlink(missing_ok=True)
    with open_db(paths.db, read_only=True, wait_s=wait_s) as con:
        copies = [(paths.db, partial)]
        if wal(paths.db).exists():
            copies.append((wal(paths.db), wal(partial)))
        copy_or_no_room(copies, f"moving {paths.db} into the store {paths.store}", "it")
    with open_db(partial, wait_s=wait_s) as con:  # replays the copied log, applies migrations
        con.execute("CHECKPOINT congvu")
    os.replace(partial, paths.store)
    sync_folder(paths.store.parent)
    return True


def publish(paths: DataPaths, wait_s: float) -> None:
    """Replace data/congvu.duckdb by a copy of the store, atomically (runs under the run lock).

    A reader that opened the previous file keeps it (its inode) and a consistent view; one that
    opens the path afterwards gets the new copy, complete: it is renamed into place only once
    written and flushed.
    """
    if not paths.store.exists():
        return
    partial = paths.db.with_name(paths.db.name + PARTIAL)
    partial.unlink(missing_ok=True)  # left by a publish that was killed
    with open_db(paths.store, wait_s=wait_s) as con:
        # Everything into the file itself, which is then copied while this connection keeps
        # every other process out of it.
        con.execute("CHECKPOINT congvu")
        # The old snapshot stays until the copy replaces it: the copy needs the store's size.
        copy_or_no_room(
            [(paths.store, partial)], f"publishing {paths.db}", f"the store {paths.store}"
        )
    # Read-only for everyone: a notebook that opened a snapshot for writing, once that snapshot
    # is replaced, writes its log beside the new one, and DuckDB replays it into every reader.
    partial.chmod(0o444)
    checkpoint("publish")
    # A log beside the snapshot can only come from someone who wrote into a snapshot; DuckDB
    # would refuse to open the new file with it ("WAL does not match database file").
    wal(paths.db).unlink(missing_ok=True)
    os.replace(partial, paths.db)
    sync_folder(paths.db.parent)


@contextmanager
def writing(paths: DataPaths, purpose: str, wait_s: float) -> Iterator[str]:
    """Hold the run lock, write the store in the block, then publish it, even after an error.

    Yields the lock's takeover note (empty unless a killed run's lock was taken over). With the
    shared store nothing is published: readers get snapshot isolation from DuckLake itself, and
    the lock keeps one run at a time on this node (its staging, raw and log folders).
    """
    if lake_target() is not None:
        with run_lock(paths.lock, purpose) as note:
            yield note
        return
    with run_lock(paths.lock, purpose) as note:
        adopt(paths, wait_s)
        try:
            yield note
        except BaseException as exc:
            if isinstance(exc, DatabaseLocked):  # publishing would wait out the same lock again
                raise
            try:  # what was committed before the error (a failed run's record) is shown too
                publish(paths, wait_s)
            except Exception:
                log.exception("could not publish %s after an error", paths.db)
            raise
        publish(paths, wait_s)
