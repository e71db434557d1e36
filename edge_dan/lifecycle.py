"""What starts and stops: ``async with`` over ``start()`` and ``stop()``, and ending a task.

A service that runs tasks or holds sockets between ``start()`` and ``stop()`` (the agent, the
mDNS advertiser and browser) subclasses :class:`StartStop`, so ``async with service:`` starts it
and stops it however the block ends.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import Any, Self


class StartStop:
    """``async with`` starts the object on entry and stops it on exit."""

    async def start(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


async def cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and wait until it has ended (its cancellation is not re-raised)."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
