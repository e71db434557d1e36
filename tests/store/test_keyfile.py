"""The key file: wrapping, header binding, parsing of damaged files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from edge_dan.errors import StoreCorrupt, UsageError, WrongPassphrase
from edge_dan.store import keyfile
from edge_dan.store.keyfile import KdfParams, KeyFile, calibrate


def test_wrap_unwrap_round_trip(fast_kdf: KdfParams) -> None:
    key = os.urandom(32)
    kek = fast_kdf.derive("pass")
    kf = KeyFile.wrap("abc", fast_kdf, kek, key)
    parsed = KeyFile.from_bytes(kf.to_bytes(), source="kf")
    assert parsed == kf
    assert parsed.unwrap_with("pass") == (kek, key)


def test_wrong_passphrase_is_its_own_error(fast_kdf: KdfParams) -> None:
    kf = KeyFile.wrap("abc", fast_kdf, fast_kdf.derive("pass"), os.urandom(32))
    with pytest.raises(WrongPassphrase):
        kf.unwrap_with("Pass")


@pytest.mark.parametrize(
    ("field", "value"),
    [("store_id", "another-store"), ("kdf.opslimit", 2), ("kdf.memlimit", 16 * 1024 * 1024)],
)
def test_header_is_authenticated(fast_kdf: KdfParams, field: str, value: object) -> None:
    """Changing any header field, even to another valid value, makes unwrapping fail."""
    kek = fast_kdf.derive("pass")
    doc = json.loads(KeyFile.wrap("abc", fast_kdf, kek, os.urandom(32)).to_bytes())
    if field.startswith("kdf."):
        doc["kdf"][field[4:]] = value
    else:
        doc[field] = value
    tampered = KeyFile.from_bytes(json.dumps(doc).encode(), source="kf")
    with pytest.raises(WrongPassphrase):
        tampered.unwrap(kek)  # the same KEK: only the header binding can reject it


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"[]",
        b'{"format": "something-else"}',
        b'{"format": "edge-dan-keyfile", "version": 99}',
        b'{"format": "edge-dan-keyfile", "version": 1, "store_id": 5}',
        b'{"format": "edge-dan-keyfile", "version": 1, "store_id": "a", "wrapped_key": "!!"}',
        b"\xff\xfe",
    ],
)
def test_damaged_key_files_are_reported(raw: bytes) -> None:
    with pytest.raises(StoreCorrupt, match="damaged"):
        KeyFile.from_bytes(raw, source="the-key-file")


def test_absurd_kdf_parameters_are_refused(fast_kdf: KdfParams) -> None:
    doc = json.loads(KeyFile.wrap("a", fast_kdf, fast_kdf.derive("p"), os.urandom(32)).to_bytes())
    doc["kdf"]["memlimit"] = 2**40  # a planted file must not make us allocate a terabyte
    with pytest.raises(StoreCorrupt, match="out of range"):
        KeyFile.from_bytes(json.dumps(doc).encode(), source="kf")


def test_calibration_targets_the_requested_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # The arithmetic, on a modelled machine (20 ms per pass at 64 MiB): real timings on a shared
    # CI machine vary too much to assert on.
    def modelled(ops: int, mem: int) -> float:
        return 0.02 * ops * mem / (64 * 1024 * 1024)

    monkeypatch.setattr(keyfile, "_time_kdf", modelled)
    slow, quick = calibrate(0.4), calibrate(0.05)
    assert slow.memlimit == quick.memlimit == 64 * 1024 * 1024
    assert (slow.opslimit, quick.opslimit) == (20, 2)
    assert len(slow.salt) == 16 and slow.salt != quick.salt
    # A board too slow for even one pass at 64 MiB in time gets less memory instead.
    tiny = calibrate(0.01)
    assert tiny.opslimit == 1 and 8 * 1024 * 1024 <= tiny.memlimit < 64 * 1024 * 1024


def test_calibration_on_this_machine_gives_usable_parameters() -> None:
    params = calibrate(0.1)
    assert params.opslimit >= 1 and 8 * 1024 * 1024 <= params.memlimit <= 64 * 1024 * 1024


@pytest.mark.parametrize("seconds", [0, -1, 31])
def test_calibration_rejects_silly_targets(seconds: float) -> None:
    with pytest.raises(UsageError):
        calibrate(seconds)


MiB = 1024 * 1024


@pytest.mark.parametrize(
    ("opslimit", "memlimit"),
    [
        (2**32 - 1, 64 * MiB),  # days of work per unlock (issue #14)
        (1, 1024 * MiB),  # more than a 512 MB board has
        (1, 512 * MiB),
        (257, 8 * MiB),
        (128, 256 * MiB),  # each bound kept, the product four times what calibration makes
        (0, 64 * MiB),
        (1, 4 * MiB),
    ],
)
def test_kdf_costs_outside_the_bounds_are_refused_before_the_kdf_runs(
    fast_kdf: KdfParams, opslimit: int, memlimit: int
) -> None:
    doc = json.loads(KeyFile.wrap("a", fast_kdf, fast_kdf.derive("p"), os.urandom(32)).to_bytes())
    doc["kdf"].update(opslimit=opslimit, memlimit=memlimit)
    with pytest.raises(StoreCorrupt, match="out of range"):
        KeyFile.from_bytes(json.dumps(doc).encode(), source="kf")
    with pytest.raises(UsageError, match="out of range"):
        KdfParams(opslimit, memlimit, fast_kdf.salt).derive("p")


def test_every_cost_calibration_can_choose_is_within_the_bounds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The fastest machine at the longest unlock time, and the slowest board at the shortest.
    monkeypatch.setattr(keyfile, "_time_kdf", lambda ops, mem: 0.0001 * ops * mem / (64 * MiB))
    fast = calibrate(30)
    monkeypatch.setattr(keyfile, "_time_kdf", lambda ops, mem: 50.0 * ops * mem / (64 * MiB))
    slow = calibrate(0.01)
    for params in (fast, slow, KdfParams(256, 64 * MiB, b"\0" * 16)):
        params.check()
        assert KdfParams.from_json(params.to_json()) == params


@pytest.mark.parametrize("opener", ["[", '{"format": '])
def test_a_deeply_nested_key_file_is_damaged_not_a_crash(opener: str) -> None:
    with pytest.raises(StoreCorrupt, match=r"damaged.*nested"):
        KeyFile.from_bytes((opener * 100_000).encode(), source="kf")


def test_an_oversized_key_file_is_not_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "keyfile.json"
    with path.open("wb") as handle:
        handle.truncate(3 * 1024**3)  # sparse: 3 GB that take no disk
    with pytest.raises(StoreCorrupt, match="larger than a key file"):
        KeyFile.read(path)
