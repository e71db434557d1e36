"""The sealed store's commit lock: taken for every operation, handed over in turn.

Every operation on a sealed store (``sealed_sqlite``) holds ``commit.lock`` exclusively, even a
read, so a process that commits in a tight loop would starve the others if they polled for the
lock (it releases and takes it again within microseconds). So a process that finds the lock taken
blocks in ``flock`` itself, queued in the kernel, which wakes it the moment the lock is released.
``flock`` cannot time out, so the blocking call runs in a helper thread on a descriptor of its
own (a flock belongs to the open file, not to the thread); on timeout the caller raises
``StoreBusy`` and the helper, should it get the lock later, releases it at once.
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
from pathlib import Path

from edge_dan.errors import StoreBusy
from edge_dan.store.files import PRIVATE_FILE, disk_error

_OPEN = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)


class CommitLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self.held = False

    def acquire(self, timeout: float, busy: str) -> None:
        fd = self._open()
        if fd is None:  # a read-only file system: nobody can commit, nothing to guard
            self.held = True
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not _wait_in_turn(fd, timeout):
                raise StoreBusy(busy) from None
        self._fd, self.held = fd, True

    def _open(self) -> int | None:
        try:
            return os.open(self.path, _OPEN, PRIVATE_FILE)
        except OSError as exc:
            if exc.errno not in {errno.EROFS, errno.EACCES, errno.EPERM}:
                raise disk_error(self.path, exc) from exc
        try:
            return os.open(self.path, os.O_RDONLY)  # flock needs no write access
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise disk_error(self.path, exc) from exc

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops its flock
        self._fd, self.held = None, False


def _wait_in_turn(fd: int, timeout: float) -> bool:
    """Block for the lock on ``fd`` for at most ``timeout`` seconds; ``False`` (and ``fd``
    closed, now or once the helper gets the lock) if it did not come."""
    got, guard = threading.Event(), threading.Lock()
    abandoned = False

    def wait() -> None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            return
        with guard:
            if abandoned:
                os.close(fd)
            else:
                got.set()

    threading.Thread(target=wait, name="edge-dan-commit-lock", daemon=True).start()
    if got.wait(timeout):
        return True
    with guard:
        if got.is_set():
            return True
        abandoned = True
    return False
