"""What only a phone has: Android's Wi-Fi multicast lock, the OS keystore.

Everything here checks ``sys.platform`` (``"android"``, ``"ios"``), never ``platform.system()``
(DESIGN, "Phones"), and imports the phone's bridges (Chaquopy's ``java``) only on that phone, so
the desktop app and the tests run the same module with nothing to import.
"""

from __future__ import annotations

import sys
from typing import Any

from little_dan_phone.presenter import Keystore

MULTICAST_LOCK_TAG = "little-dan-mdns"


def running_on() -> str:
    """``sys.platform``, read at run time (a type checker on Linux would call Android code dead)."""
    return sys.platform


def acquire_multicast_lock(app: Any) -> Any | None:
    """Android drops multicast packets to save power unless an app holds a ``MulticastLock``:
    without it, mDNS (and so the LAN network) sees nobody. Returns the held lock, or ``None``
    off Android. Needs ``CHANGE_WIFI_MULTICAST_STATE`` in the manifest (``pyproject.toml``)."""
    if running_on() != "android":
        return None
    from java import jclass  # type: ignore[import-not-found]  # Chaquopy, on Android only

    context = jclass("android.content.Context")
    activity = app._impl.native  # toga-android's MainActivity
    wifi = activity.getApplicationContext().getSystemService(context.WIFI_SERVICE)
    lock = wifi.createMulticastLock(MULTICAST_LOCK_TAG)
    lock.setReferenceCounted(False)  # one acquire, one release, however often we resume
    lock.acquire()
    return lock


def release(lock: Any | None) -> None:
    """Give the multicast lock back (on exit), if one is held."""
    if lock is not None and lock.isHeld():
        lock.release()


def keystore() -> Keystore | None:
    """The OS keystore on a phone, ``None`` elsewhere (the app then asks for a passphrase).

    The hook for Android Keystore (through Chaquopy's ``java``) and the iOS Keychain (through
    rubicon-objc): not written yet, so phones ask for the passphrase too. A keystore entry
    holds a random secret made at first unlock; ``Keystore.remember`` is where it is kept.
    """
    # The hook: on sys.platform "android" or "ios", return an object with ``secret()`` and
    # ``remember(secret)`` backed by the platform's keystore.
    return None
