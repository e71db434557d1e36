"""Which processes may use the store at once: advisory ``flock`` locks in the home.

Ordinary use holds the *use* lock shared, so any number of processes read and write together
(SQLite's WAL locking orders their commits). Operations that swap whole files (create, rekey,
restore, crash recovery) hold it exclusively, so no process has the old file open while it is
replaced.

A shared flock cannot be upgraded atomically: Linux drops it, then tries for the exclusive one. A
process that fails to upgrade is left, for a moment, with no lock, and another process's swap
could slip in and replace the file under its open connection. So whoever wants the use lock
exclusively must first hold the *swap* lock (a second file): while one process is trying to
upgrade, nobody else can even start a swap, and a failed upgrade can always take its shared lock
straight back.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from edge_dan.errors import StoreBusy, StoreError
from edge_dan.store.files import PRIVATE_FILE, disk_error

_POLL_SECONDS = 0.02
# Why the lock file could not be opened for writing when the home is only readable.
_READ_ONLY = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})
_NOTHING_TO_LOCK = -1  # stands for the descriptor when no lock file exists on a read-only home


class _Flock:
    """One lock file, opened once, locked shared or exclusive with a timeout."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def lock(self, *, exclusive: bool, timeout: float, busy: str) -> None:
        if self._fd is None:
            self._fd = self._open(exclusive=exclusive)
        if self._fd == _NOTHING_TO_LOCK:
            return
        mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(self._fd, mode)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StoreBusy(busy) from None
                time.sleep(_POLL_SECONDS)

    def _open(self, *, exclusive: bool) -> int:
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
        except OSError as exc:
            if exclusive or exc.errno not in _READ_ONLY:
                raise disk_error(self.path, exc) from exc
            return self._open_read_only(exc)

    def _open_read_only(self, cause: OSError) -> int:
        # A home on a read-only file system (or a directory we may not write) can still be read:
        # flock needs no write access, so an existing lock file is locked through a read-only
        # descriptor. The writes themselves then fail with their own clear error.
        try:
            return os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            if cause.errno == errno.EROFS:
                # No lock file and none can be made: on a read-only file system nobody can swap
                # the store's files either, so there is nothing for the lock to guard.
                return _NOTHING_TO_LOCK
            raise disk_error(self.path, cause) from cause
        except OSError as exc:
            raise disk_error(self.path, exc) from exc

    def release(self) -> None:
        if self._fd == _NOTHING_TO_LOCK:
            self._fd = None
        elif self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops its flock
            self._fd = None


class StoreLock:
    """The use lock and the swap lock of one home, held by one ``Store``."""

    def __init__(self, home: Path) -> None:
        self._use = _Flock(home / "lock")
        self._swap = _Flock(home / "swap.lock")

    def acquire_shared(self, timeout: float) -> None:
        self._use.lock(
            exclusive=False,
            timeout=timeout,
            busy="the store is being rekeyed or restored by another process; try again",
        )

    def release(self) -> None:
        self._swap.release()
        self._use.release()

    @contextlib.contextmanager
    def exclusively(self, timeout: float) -> Iterator[None]:
        """Hold the store alone for the block (the caller holds it shared), then share again."""
        busy = "another process is using the store; close it and try again"
        self._swap.lock(exclusive=True, timeout=timeout, busy=busy)
        try:
            try:
                self._use.lock(exclusive=True, timeout=timeout, busy=busy)
            except StoreBusy:
                self._take_back_shared()
                raise
            try:
                yield
            finally:
                self._take_back_shared()
        finally:
            self._swap.release()

    def _take_back_shared(self) -> None:
        # Holding the swap lock, nobody else can hold or want the use lock exclusively, so
        # this succeeds at once; a failure would mean the invariant is broken.
        try:
            self.acquire_shared(timeout=1.0)
        except StoreBusy as exc:
            raise StoreError("lost the store lock; close the store and open it again") from exc


# One lock file on its own (the sealed store's commit lock, ``sealed_sqlite``).
Flock = _Flock
