"""``edge-dan partners``: list, rename and unpair the agents this one is paired with.

Two real owners (encrypted stores) are paired through the owner API with real pairing results and
each other's advertising keys granted, as a finished pairing leaves them; the CLI then runs in a
child process on one of them, on a pipe or on a real pty.
"""

from __future__ import annotations

import json
import secrets
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import FAST_KDF, Cli

from edge_dan.discovery.tokens import Recogniser, TokenRotator
from edge_dan.identity import Identity
from edge_dan.owner import Owner
from edge_dan.pairing.result import PairingResult


@dataclass
class Pair:
    alice: Identity  # the CLI's own agent
    bob: Identity  # Bob's agent, in its own store
    bob_home: Path
    bob_knows_alice_by: bytes  # the advertising key Alice granted Bob


def _result(peer: Identity, method: str) -> PairingResult:
    return PairingResult(
        method,  # type: ignore[arg-type]
        peer.static_public_key,
        secrets.token_bytes(32),
        secrets.token_bytes(64),
    )


def _pair(alice: Owner, bob: Owner, name_for_bob: str, method: str = "numeric") -> Identity:
    """Pair two owners both ways and exchange advertising keys; Bob's identity."""
    a, b = alice.identity.ensure(), bob.identity.ensure()
    alice.peers.add(b.public_key, _result(b, method), name_for_bob)
    bob.peers.add(a.public_key, _result(a, method), "Alice")
    bob.advertising.set_partner_key(a.public_key, alice.advertising.own_key())
    alice.advertising.set_partner_key(b.public_key, bob.advertising.own_key())
    return b


@pytest.fixture
def paired(cli: Cli, tmp_path: Path) -> Pair:
    passphrase = cli.env["EDGE_DAN_PASSPHRASE"]
    bob_home = tmp_path / "bob"
    with (
        Owner.create(cli.home, passphrase, kdf=FAST_KDF.with_new_salt()) as alice,
        Owner.create(bob_home, "bob's passphrase", kdf=FAST_KDF.with_new_salt()) as bob,
    ):
        bob_identity = _pair(alice, bob, "Bob")
        alice_identity = alice.identity.ensure()
        granted = alice.advertising.own_key()
    return Pair(alice_identity, bob_identity, bob_home, granted)


def _partners(cli: Cli) -> list[dict[str, Any]]:
    result = cli("--json", "partners")
    assert result.code == 0, result.err
    rows: list[dict[str, Any]] = json.loads(result.out)["partners"]
    return rows


def _bob_recognises_alice(pair: Pair, alice_home: Path, passphrase: str) -> bool:
    """Does Bob's agent, with the keys it holds, recognise the adverts Alice makes now?"""
    with Owner.open(pair.bob_home, "bob's passphrase") as bob:
        recogniser = Recogniser(bob.advertising.partner_keys())
    with Owner.open(alice_home, passphrase) as alice:
        advert = TokenRotator(alice.advertising.own_key()).advert(time.time())
    return recogniser.recognise(advert, time.time()) == pair.alice.public_key


def test_list_shows_the_partner_by_name_fingerprint_date_and_method(cli: Cli, paired: Pair) -> None:
    rows = _partners(cli)
    assert len(rows) == 1
    row = rows[0]
    assert row["name"] == "Bob" and row["fingerprint"] == paired.bob.fingerprint
    assert row["identity_key"] == paired.bob.public_key.hex()
    assert row["method"] == "numeric" and row["recognisable"] is True
    assert row["paired_at"].startswith(time.strftime("%Y-", time.gmtime()))
    text = cli("partners", "list")
    assert text.code == 0, text.err
    assert "Bob" in text.out and paired.bob.fingerprint in text.out and "numeric" in text.out
    assert cli("partners").out == text.out  # list is the default action
    assert "advert_key" not in row  # the pair's secret stays in the store


def test_list_without_partners(cli: Cli) -> None:
    with Owner.create(cli.home, cli.env["EDGE_DAN_PASSPHRASE"], kdf=FAST_KDF.with_new_salt()):
        pass
    assert cli("partners").out.strip() == "No partners yet."
    assert _partners(cli) == []


def test_rename_by_name_and_by_fingerprint_prefix(cli: Cli, paired: Pair) -> None:
    result = cli("partners", "rename", "bob", "Robert")  # a name, case aside
    assert result.code == 0, result.err
    assert "Robert" in result.out
    assert [row["name"] for row in _partners(cli)] == ["Robert"]
    prefix = paired.bob.fingerprint[:9].upper()  # "ABCD-EFGH", as typed from a screen
    result = cli("--json", "partners", "rename", prefix, "  Bobby  ")
    assert result.code == 0, result.err
    assert json.loads(result.out)["renamed"]["to"] == "Bobby"
    assert [row["name"] for row in _partners(cli)] == ["Bobby"]


def test_rename_refuses_a_duplicate_or_unusable_name_and_changes_nothing(
    cli: Cli, paired: Pair, tmp_path: Path
) -> None:
    with (
        Owner.open(cli.home, cli.env["EDGE_DAN_PASSPHRASE"]) as alice,
        Owner.create(tmp_path / "carol", "carol's", kdf=FAST_KDF.with_new_salt()) as carol,
    ):
        _pair(alice, carol, "Carol", method="qr")
    for bad in ("CAROL", "", "   ", "x" * 65, "Bo\x07b"):
        result = cli("partners", "rename", "Bob", bad)
        assert result.code == 2, (bad, result)
        assert result.err.startswith("edge-dan: error: ") and result.err.count("\n") == 1
    assert sorted(row["name"] for row in _partners(cli)) == ["Bob", "Carol"]


def test_unknown_or_ambiguous_peer_is_a_one_line_error_naming_nobody(
    cli: Cli, paired: Pair, tmp_path: Path
) -> None:
    with (
        Owner.open(cli.home, cli.env["EDGE_DAN_PASSPHRASE"]) as alice,
        Owner.create(tmp_path / "bob2", "other bob", kdf=FAST_KDF.with_new_salt()) as other,
    ):
        other_bob = _pair(alice, other, "bob")  # pairing does not refuse a second "Bob"
    for args in (
        ("partners", "rename", "Nobody", "X"),
        ("partners", "unpair", "Nobody", "--yes"),
        ("partners", "rename", "zzzz-zzzz-zzzz", "X"),
    ):
        result = cli(*args)
        assert result.code == 2, (args, result)
        assert "no partner has that name or fingerprint" in result.err
        assert "'edge-dan partners' lists them" in result.err
    for args in (("partners", "rename", "Bob", "X"), ("partners", "unpair", "BOB", "--yes")):
        result = cli(*args)
        assert result.code == 2, (args, result)
        assert "2 partners answer to that" in result.err and result.err.count("\n") == 1
        for private in ("Bob", "bob", paired.bob.fingerprint[:9], other_bob.fingerprint[:9]):
            assert private not in result.err
    # The fingerprint tells them apart; nothing was changed by the refusals.
    assert sorted(row["name"] for row in _partners(cli)) == ["Bob", "bob"]
    result = cli("partners", "unpair", other_bob.fingerprint[:14], "--yes")
    assert result.code == 0, result.err
    assert [row["fingerprint"] for row in _partners(cli)] == [paired.bob.fingerprint]


def test_unpair_removes_the_partner_and_the_old_key_stops_recognising_us(
    cli: Cli, paired: Pair
) -> None:
    passphrase = cli.env["EDGE_DAN_PASSPHRASE"]
    assert _bob_recognises_alice(paired, cli.home, passphrase)
    result = cli("--json", "partners", "unpair", "Bob", "--yes")
    assert result.code == 0, result.err
    assert json.loads(result.out) == {
        "unpaired": {"name": "Bob", "fingerprint": paired.bob.fingerprint},
        "advertising_key_replaced": True,
    }
    assert _partners(cli) == []
    with Owner.open(cli.home, passphrase) as alice:
        assert alice.peers.get(paired.bob.public_key) is None
        assert alice.advertising.own_key() != paired.bob_knows_alice_by
    assert not _bob_recognises_alice(paired, cli.home, passphrase)
    again = cli("partners", "unpair", "Bob", "--yes")
    assert again.code == 2 and "no partner" in again.err


def test_unpair_without_a_terminal_or_yes_refuses_and_changes_nothing(
    cli: Cli, paired: Pair
) -> None:
    passphrase = cli.env["EDGE_DAN_PASSPHRASE"]
    result = cli("partners", "unpair", "Bob", input="y\n")  # a pipe, even one saying yes
    assert result.code == 2
    assert result.err == (
        "edge-dan: error: unpairing needs confirmation: run it on a terminal or give --yes\n"
    )
    assert [row["name"] for row in _partners(cli)] == ["Bob"]
    with Owner.open(cli.home, passphrase) as alice:
        assert alice.advertising.own_key() == paired.bob_knows_alice_by
    assert _bob_recognises_alice(paired, cli.home, passphrase)


def test_unpair_on_a_terminal_asks_first(cli: Cli, paired: Pair) -> None:
    pexpect = pytest.importorskip("pexpect")

    def unpair(reply: str) -> Any:
        child = pexpect.spawn(
            sys.executable,
            ["-m", "edge_dan.cli.main", "--home", str(cli.home), "partners", "unpair", "Bob"],
            env=cli.env,
            encoding="utf-8",
            timeout=60,
        )
        child.expect(r"\[y/N\] ")
        assert paired.bob.fingerprint in child.before
        child.sendline(reply)
        child.expect(pexpect.EOF)
        child.close()
        return child

    declined = unpair("n")
    assert declined.exitstatus == 2 and "nothing changed" in declined.before
    assert [row["name"] for row in _partners(cli)] == ["Bob"]
    accepted = unpair("y")
    assert accepted.exitstatus == 0 and "Unpaired Bob" in accepted.before
    assert _partners(cli) == []


def test_help_explains_the_actions(cli: Cli) -> None:
    result = cli("partners", "--help")
    assert result.code == 0
    for action in ("list", "rename", "unpair"):
        assert action in result.out
    unpair = cli("partners", "unpair", "--help").out
    assert "--yes" in unpair and "advertising key" in unpair
