"""``edge-dan accords``: list, show, verify and export the accords an owner keeps.

The accords are real: two agents on loopback pair by numeric comparison and negotiate
(``accord_homes``); then ``edge-dan`` runs in child processes on those homes, and on "a third
machine": an empty home, no passphrase anywhere, only the exported file.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import cbor2
import pytest
from accord_homes import PASSPHRASES, Homes, make_homes
from conftest import FAST_KDF, REPO, CliResult

from edge_dan.identity import Identity, fingerprint
from edge_dan.negotiation.accords.accord import MAX_ACCORD_BYTES, Accord, canonical_body
from edge_dan.owner import Owner


def edge_dan(home: Path, *args: str, passphrase: str | None = None, **env: str) -> CliResult:
    """``edge-dan --home HOME ARGS`` in a child process; no passphrase unless given."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EDGE_DAN_")}
    clean["PYTHONPATH"] = str(REPO)
    if passphrase is not None:
        clean["EDGE_DAN_PASSPHRASE"] = passphrase
    proc = subprocess.run(
        [sys.executable, "-m", "edge_dan.cli.main", "--home", str(home), *args],
        capture_output=True,
        text=True,
        env={**clean, **env},
        stdin=subprocess.DEVNULL,  # nobody at a terminal: a prompt would fail, not hang
        timeout=120,
        check=False,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def alice(homes: Homes, *args: str) -> CliResult:
    return edge_dan(homes.alice, *args, passphrase=PASSPHRASES["alice"])


def as_json(result: CliResult) -> Any:
    assert result.code == 0, result.err
    return json.loads(result.out)


def one_line_error(result: CliResult, code: int) -> str:
    """The command failed with ``code`` and a single line on stderr, never a traceback."""
    assert result.code == code, (result.code, result.out, result.err)
    assert result.err.count("\n") == 1 and result.err.startswith("edge-dan: error: "), result.err
    assert "Traceback" not in result.err and "internal error" not in result.err
    return result.err


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> Homes:
    return make_homes(tmp_path_factory.mktemp("homes"))


@pytest.fixture(scope="module")
def exported(homes: Homes, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dinner accord, exported from Alice's home."""
    target = tmp_path_factory.mktemp("export") / "dinner.accord"
    result = alice(homes, "accords", "export", homes.accord_ids[0][:8], str(target))
    assert result.code == 0, result.err
    return target


@pytest.fixture
def third_machine(tmp_path: Path) -> Path:
    """A home with no store in it (and the commands get no passphrase)."""
    home = tmp_path / "third"
    home.mkdir()
    return home


def test_both_homes_list_the_same_verified_accords_under_the_partners_names(homes: Homes) -> None:
    mine = as_json(alice(homes, "--json", "accords"))["accords"]
    theirs = as_json(
        edge_dan(homes.bob, "accords", "list", "--json", passphrase="bob's passphrase")
    )
    assert [a["id"] for a in mine] == [a["id"] for a in theirs["accords"]]
    assert sorted(a["id"] for a in mine) == sorted(homes.accord_ids)
    for row in mine:
        assert row["verified"] is True and row["problem"] is None
        assert [p["name"] for p in row["parties"]] == ["you", "Bob"]  # Alice started both
        assert [p["signature"] for p in row["parties"]] == ["valid", "valid"]
        assert row["parties"][1]["fingerprint"] == fingerprint(homes.bob_key)
    assert [p["name"] for p in theirs["accords"][0]["parties"]] == ["Alice", "you"]
    terms = {a["id"]: a["terms"] for a in mine}
    assert terms[homes.accord_ids[0]] == {"dinner": "curry"}  # the best product of the two tastes


def test_the_list_for_people_names_partner_status_and_terms(homes: Homes) -> None:
    result = alice(homes, "accords")
    assert result.code == 0, result.err
    dinner = next(line for line in result.out.splitlines() if "dinner" in line)
    assert dinner.startswith(homes.accord_ids[0][:12])
    assert "verified" in dinner and "Bob: dinner = curry" in dinner


def test_show_takes_the_start_of_the_id_case_aside(homes: Homes) -> None:
    row = as_json(alice(homes, "accords", "show", homes.accord_ids[0][:6].upper(), "--json"))
    accord = row["accord"]
    assert accord["id"] == homes.accord_ids[0] and accord["terms"] == {"dinner": "curry"}
    assert accord["signed_at"].endswith("Z") and accord["stored_at"]
    text = alice(homes, "accords", "show", homes.accord_ids[0][:6]).out
    assert "dinner = curry" in text and "Bob" in text and fingerprint(homes.bob_key) in text
    assert "every signature checks" in text


def test_verify_by_id_checks_a_stored_accord(homes: Homes) -> None:
    result = alice(homes, "accords", "verify", homes.accord_ids[1][:10])
    assert result.code == 0, result.err
    assert "dessert = cake" in result.out and "every signature checks" in result.out


def test_unknown_short_or_malformed_ids_are_refused_with_exit_2(homes: Homes) -> None:
    unknown = next(
        p for p in ("0000", "ffff", "abab") if not any(i.startswith(p) for i in homes.accord_ids)
    )
    assert "no accord's id starts with that" in one_line_error(
        alice(homes, "accords", "show", unknown), 2
    )
    assert "4 to 64 hex digits" in one_line_error(alice(homes, "accords", "show", "ab"), 2)
    assert "hex digits" in one_line_error(alice(homes, "accords", "export", "dinner", "x"), 2)


def test_an_accord_exported_from_one_home_verifies_on_a_third_machine(
    homes: Homes, exported: Path, third_machine: Path
) -> None:
    with Owner.open(homes.alice, PASSPHRASES["alice"]) as owner:
        kept = owner.accords.get(bytes.fromhex(homes.accord_ids[0]))
    assert kept is not None
    # The exact bytes every party signed, as the store keeps them; private like the store.
    assert exported.read_bytes() == kept.accord.to_bytes()
    assert stat.S_IMODE(exported.stat().st_mode) == 0o600
    result = edge_dan(third_machine, "accords", "verify", str(exported), "--json")
    accord = as_json(result)["accord"]
    assert accord["verified"] is True and accord["id"] == homes.accord_ids[0]
    assert [p["fingerprint"] for p in accord["parties"]] == [
        fingerprint(homes.alice_key),
        fingerprint(homes.bob_key),
    ]
    assert all("name" not in p for p in accord["parties"])  # no store: nobody has a name here
    assert list(third_machine.iterdir()) == []  # nothing created, nothing asked
    # No home at all: neither $HOME nor $EDGE_DAN_HOME, and the default home does not exist.
    proc = subprocess.run(
        [sys.executable, "-m", "edge_dan.cli.main", "accords", "verify", str(exported)],
        capture_output=True,
        text=True,
        env={
            "PATH": os.environ["PATH"],
            "PYTHONPATH": str(REPO),
            "HOME": str(third_machine / "none"),
        },
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "dinner = curry" in proc.stdout and fingerprint(homes.bob_key) in proc.stdout


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def _tampered(original: bytes, bob_key: bytes) -> dict[str, bytes]:
    term = original.index(b"curry")
    party = original.index(bob_key)
    return {
        "a term": original.replace(b"curry", b"currz"),  # still canonical CBOR: decodes
        "a term's bit": _flip(original, term + 2),
        "a signature": _flip(original, len(original) - 5),
        "a party key": _flip(original, party + 7),
        "truncated": original[:-1],
        "one byte more": original + b"\x00",
    }


@pytest.mark.parametrize(
    "how", ["a term", "a term's bit", "a signature", "a party key", "truncated", "one byte more"]
)
def test_a_tampered_accord_fails_verification_with_one_line_and_exit_1(
    homes: Homes, exported: Path, third_machine: Path, how: str
) -> None:
    bad = third_machine.parent / "bad.accord"
    bad.write_bytes(_tampered(exported.read_bytes(), homes.bob_key)[how])
    error = one_line_error(edge_dan(third_machine, "accords", "verify", str(bad)), 1)
    assert "does not verify" in error or "not a well-formed accord" in error


def test_a_changed_term_is_shown_but_not_verified(
    homes: Homes, exported: Path, third_machine: Path
) -> None:
    """Someone edits the terms: the file still reads as an accord, and the CLI says whose
    signature no longer checks, in --json too."""
    bad = third_machine.parent / "changed.accord"
    bad.write_bytes(exported.read_bytes().replace(b"curry", b"salad"))
    result = edge_dan(third_machine, "--json", "accords", "verify", str(bad))
    one_line_error(result, 1)
    accord = json.loads(result.out)["accord"]
    assert accord["terms"] == {"dinner": "salad"} and accord["verified"] is False
    assert [p["signature"] for p in accord["parties"]] == ["invalid", "invalid"]


def _fifo(tmp: Path) -> Path:
    path = tmp / "fifo"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize(
    ("name", "make", "says"),
    [
        ("empty", lambda tmp: _write(tmp / "empty", b""), "is empty"),
        ("directory", lambda tmp: tmp, "not a regular file"),
        ("a fifo", _fifo, "not a regular file"),
        ("missing", lambda tmp: tmp / "missing.accord", "No such file"),
        ("huge", lambda tmp: _write(tmp / "huge", b"\x82" * (MAX_ACCORD_BYTES + 1)), "at most"),
        ("json", lambda tmp: _write(tmp / "a.json", b'{"accord": 1}\n'), "not a well-formed"),
        ("cbor", lambda tmp: _write(tmp / "a.cbor", cbor2.dumps({"a": 1})), "not a well-formed"),
        ("text", lambda tmp: _write(tmp / "notes", "déjà vu\n".encode()), "not a well-formed"),
    ],
)
def test_a_file_that_is_no_accord_is_one_clear_error(
    third_machine: Path, tmp_path: Path, name: str, make: Any, says: str
) -> None:
    path = make(tmp_path)
    error = one_line_error(edge_dan(third_machine, "accords", "verify", str(path)), 1)
    assert says in error


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_an_outcome_named_by_a_list_is_refused_not_a_crash(third_machine: Path) -> None:
    """Strict CBOR allows arrays anywhere; a name that is one used to crash the decoder."""
    key = Identity.generate().public_key
    body = canonical_body(
        {
            "format": 1,
            "negotiation": bytes(16),
            "parties": [key],
            "outcome": [[[1], "x"]],
            "time_ms": 1,
            "space": bytes(32),
        }
    )
    path = third_machine.parent / "listname.accord"
    path.write_bytes(cbor2.dumps([body, [b""]], canonical=True))
    error = one_line_error(edge_dan(third_machine, "accords", "verify", str(path)), 1)
    assert "malformed outcome entry" in error


@pytest.fixture
def crowded(tmp_path: Path) -> tuple[Path, list[str], Identity]:
    """A home holding two accords whose ids share their first four hex digits, with a party
    who is not a partner, and a third still missing that party's signature; their ids."""
    home, passphrase = tmp_path / "crowded", "crowded's passphrase"
    stranger = Identity.generate()
    with Owner.create(home, passphrase, kdf=FAST_KDF.with_new_salt()) as owner:
        me = owner.identity.ensure()
        seen: dict[str, Accord] = {}
        for when in range(1, 100_000):  # ~300 ids until two share a prefix (birthday bound)
            negotiation = when.to_bytes(16, "big")  # one id per negotiation, as agents do
            parties = (me.public_key, stranger.public_key)
            accord = Accord(negotiation, parties, (("x", when),), when, bytes(32))
            twin = seen.setdefault(accord.id.hex()[:4], accord)
            if twin is not accord:
                break
        ids = []
        for unsigned in (twin, accord):
            signed = unsigned
            for party in (me, stranger):
                signed = signed.with_signature(party.public_key, signed.sign(party))
            owner.accords.add(signed)
            ids.append(signed.id.hex())
        lonely = Accord(
            secrets.token_bytes(16), (me.public_key, stranger.public_key), (("z", 2),), 6, bytes(32)
        )
        owner.accords.add(lonely.with_signature(me.public_key, lonely.sign(me)))
        ids.append(lonely.id.hex())
    return home, ids, stranger


def crowded_cli(home: Path, *args: str) -> CliResult:
    return edge_dan(home, *args, passphrase="crowded's passphrase")


def test_a_prefix_that_fits_two_accords_is_ambiguous_and_a_stranger_is_unknown(
    crowded: tuple[Path, list[str], Identity],
) -> None:
    home, ids, stranger = crowded
    error = one_line_error(crowded_cli(home, "accords", "show", ids[0][:4]), 2)
    assert "2 accords have ids starting with that" in error
    accord = as_json(crowded_cli(home, "--json", "accords", "show", ids[0][:16]))["accord"]
    assert [p["name"] for p in accord["parties"]] == ["you", "unknown"]
    assert accord["parties"][1]["fingerprint"] == stranger.fingerprint


def test_an_accord_missing_a_signature_is_listed_but_not_verified(
    crowded: tuple[Path, list[str], Identity], tmp_path: Path
) -> None:
    home, ids, stranger = crowded
    result = crowded_cli(home, "accords", "verify", ids[2])
    error = one_line_error(result, 1)
    assert "1 of 2 signatures missing" in error and "not signed" in result.out
    listed = as_json(crowded_cli(home, "accords", "--json"))["accords"]
    assert {row["id"]: row["verified"] for row in listed} == {
        ids[0]: True,
        ids[1]: True,
        ids[2]: False,
    }
    target = tmp_path / "partial.accord"
    exported = crowded_cli(home, "accords", "export", ids[2][:8], str(target))
    assert exported.code == 0 and "not binding yet" in exported.err
    assert Accord.from_bytes(target.read_bytes()).missing == (stranger.public_key,)


def test_export_never_overwrites_or_follows_a_symlink_without_force(
    homes: Homes, tmp_path: Path
) -> None:
    kept = tmp_path / "precious"
    kept.write_bytes(b"keep me")
    link = tmp_path / "link.accord"
    link.symlink_to(kept)
    for target in (kept, link):
        error = one_line_error(
            alice(homes, "accords", "export", homes.accord_ids[0], str(target)), 1
        )
        assert "exists; add --force" in error
    assert kept.read_bytes() == b"keep me"
    result = alice(homes, "accords", "export", homes.accord_ids[0], str(link), "--force")
    assert result.code == 0, result.err
    assert not link.is_symlink() and kept.read_bytes() == b"keep me"  # replaced, not followed
    assert Accord.from_bytes(link.read_bytes()).id.hex() == homes.accord_ids[0]


def test_an_empty_store_says_so(tmp_path: Path) -> None:
    home = tmp_path / "new"
    Owner.create(home, "new passphrase", kdf=FAST_KDF.with_new_salt()).close()
    listed = edge_dan(home, "accords", passphrase="new passphrase")
    assert listed.code == 0 and listed.out.strip() == "No accords yet."
    assert as_json(edge_dan(home, "accords", "--json", passphrase="new passphrase")) == {
        "accords": []
    }
    error = one_line_error(
        edge_dan(home, "accords", "show", "abcd", passphrase="new passphrase"), 2
    )
    assert "holds no accords yet" in error


def test_commands_that_need_the_store_say_when_there_is_none(third_machine: Path) -> None:
    assert "no store in" in one_line_error(edge_dan(third_machine, "accords"), 1)
    error = one_line_error(edge_dan(third_machine, "accords", "verify", "abcdef"), 2)
    assert "no such file, and no store" in error


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_export_to_a_directory_is_refused(homes: Homes, tmp_path: Path, force: list[str]) -> None:
    (tmp_path / "folder").mkdir()
    for target in (str(tmp_path / "folder"), f"{tmp_path}/new/", str(tmp_path), "."):
        result = alice(homes, "accords", "export", homes.accord_ids[0], target, *force)
        assert "is a directory" in one_line_error(result, 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"]
    assert list((tmp_path / "folder").iterdir()) == []
