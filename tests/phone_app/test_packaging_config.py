"""The phone app's packaging, as far as it can be checked without the Android SDK or Xcode.

Briefcase itself (in ``build/briefcase-venv``, made by ``examples/phone_app/ci-setup.sh``)
reads ``examples/phone_app/pyproject.toml`` for Android, iOS and Linux: no warning, the permissions
mDNS and Bluetooth LE need on Android, the local-network and Bluetooth keys on iOS with the
Bonjour type edge_dan really browses, and the app's sources and edge_dan's checkout where the
config points. The Android-only code stays off the desktop.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import app_sources  # noqa: F401  # first: the app's package on sys.path
import pytest
from little_dan_phone import platform_hooks

from edge_dan.discovery.mdns import SERVICE_TYPE

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "examples" / "phone_app"
BRIEFCASE = REPO / "build" / "briefcase-venv" / "bin" / "python"  # git-ignored, as build/ is

# Briefcase's own reading of the config, for each platform and output format, as JSON.
READ = """
import json, sys
from pathlib import Path
from briefcase.config import AppConfig, GlobalConfig, parse_config
from briefcase.console import Console

console = Console()
out = {}
for platform, output_format in (("android", "gradle"), ("iOS", "Xcode"), ("linux", "system")):
    settings, apps = parse_config(
        Path(sys.argv[1]), platform=platform, output_format=output_format, console=console
    )
    GlobalConfig(**settings)
    app = apps["little_dan_phone"]
    AppConfig(**app)  # what `briefcase create` builds from: raises on a bad config
    plain = (str, list, dict, bool, int)
    out[platform] = {key: value for key, value in app.items() if isinstance(value, plain)}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def configs() -> dict[str, Any]:
    if not BRIEFCASE.exists():
        why = "no Briefcase in build/briefcase-venv (examples/phone_app/ci-setup.sh makes it)"
        if os.environ.get("EDGE_DAN_PHONEAPP_REQUIRED") == "1":
            pytest.fail(why)
        pytest.skip(why)
    read = subprocess.run(
        [str(BRIEFCASE), "-c", READ, str(APP / "pyproject.toml")],
        capture_output=True,
        text=True,
        check=False,
        cwd=APP,
    )
    assert read.returncode == 0, read.stderr
    *said, data = read.stdout.strip().splitlines()
    assert not [line for line in said if "WARNING" in line], read.stdout
    parsed: dict[str, Any] = json.loads(data)
    return parsed


def test_android_asks_for_the_multicast_lock_and_bluetooth_le_without_location(
    configs: dict[str, Any],
) -> None:
    android = configs["android"]
    assert set(android["permission"]) == {
        "android.permission.INTERNET",
        "android.permission.ACCESS_WIFI_STATE",
        "android.permission.CHANGE_WIFI_MULTICAST_STATE",
        "android.permission.BLUETOOTH_CONNECT",
        "android.permission.BLUETOOTH_ADVERTISE",
    }
    extra = android["android_manifest_extra_content"]
    assert 'android:name="android.permission.BLUETOOTH_SCAN"' in extra
    assert 'android:usesPermissionFlags="neverForLocation"' in extra
    assert "LOCATION" not in json.dumps(android)  # nothing here derives a location
    assert int(android["min_os_version"]) >= 31  # the BLUETOOTH_* permissions exist from 31
    assert "toga-android==0.5.4" in android["requires"]


def test_ios_names_the_bonjour_type_edge_dan_browses_and_says_why_it_asks(
    configs: dict[str, Any],
) -> None:
    info = configs["iOS"]["info"]
    assert info["NSBonjourServices"] == [SERVICE_TYPE.removesuffix(".local.")]
    for key in ("NSLocalNetworkUsageDescription", "NSBluetoothAlwaysUsageDescription"):
        assert info[key].startswith("Little Dan ")  # shown to the owner when iOS asks


def test_every_platform_installs_edge_dan_from_this_checkout_and_the_app_sources(
    configs: dict[str, Any],
) -> None:
    for platform, config in configs.items():
        local = [req for req in config["requires"] if req.startswith(".")]
        assert local == ["../.."], platform
        checkout = (APP / local[0]).resolve()
        with (checkout / "pyproject.toml").open("rb") as file:
            assert tomllib.load(file)["project"]["name"] == "edge-dan"
        (sources,) = config["sources"]
        assert (APP / sources / "app.py").is_file(), platform


def test_the_android_multicast_lock_is_not_attempted_off_android() -> None:
    assert sys.platform != "android"
    assert platform_hooks.acquire_multicast_lock(object()) is None  # no app needed off Android
    assert "java" not in sys.modules  # Chaquopy's bridge is imported on Android only
    platform_hooks.release(None)
    assert platform_hooks.keystore() is None  # the desktop asks for the passphrase
