"""Hold numpy's BLAS to the value model's thread budget while the numpy runtime runs.

numpy's bundled OpenBLAS starts one thread per core and spins them for every matrix product.
The encoder's products are small (a sentence is tens of tokens by 384), so on a phone or a
2-core board those threads cost far more in wake-ups and contention than they save: measured
here, the numpy runtime ran 15 times slower with OpenBLAS's default threads than with one.
Environment variables such as ``OPENBLAS_NUM_THREADS`` only work before numpy is imported and
change the whole app, so the limit is set around each run instead, through ``threadpoolctl``
(a small pure-Python library that finds the BLAS numpy loaded and calls its own
``set_num_threads``; about 25 us a run), and the app's own setting is restored after.

Where threadpoolctl is missing, or numpy's BLAS is one it does not know, runs are unlimited:
slower, never wrong.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any


class BlasThreads:
    """``with BlasThreads(1).limited(): ...`` runs the block with BLAS held to one thread."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self._controller: Any = None
        self._looked = False
        # The limit is process-wide: two runs overlapping from two threads would restore each
        # other's settings out of order, so runs through one limiter take turns.
        self._lock = threading.Lock()

    def _find(self) -> Any:
        if not self._looked:
            self._looked = True
            try:
                from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]
            except ImportError:
                return None
            controller = ThreadpoolController()
            if controller.select(user_api="blas").lib_controllers:
                self._controller = controller
        return self._controller

    @property
    def controlled(self) -> bool:
        """Whether a BLAS was found whose threads can be set."""
        return self._find() is not None

    @contextlib.contextmanager
    def limited(self) -> Iterator[None]:
        with self._lock:
            controller = self._find()
            if controller is None:
                yield
                return
            with controller.limit(limits=self.threads, user_api="blas"):
                yield
