"""Every row of a restored database, read the way the API reads it (``SCHEMA.check``).

A restore copies the backup's rows into a database made from ``edge_dan.owner.schema``, which
enforces the columns' constraints (``edge_dan.store.rebuild``). What SQL cannot say is checked here,
with the same parsers the API uses when it reads a row, so a restored store never holds a row that
would later fail a command (an out-of-range weight, history that is not JSON, a peer with a
foreign name, an agreement whose signatures do not verify). A row is named by its table and
number, never by its content: options and names are private.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from edge_dan.errors import BackupError, EdgeDanError
from edge_dan.identity import Identity, fingerprint
from edge_dan.negotiation import Accord
from edge_dan.negotiation.accords.merge import merge_accord, merge_norm
from edge_dan.negotiation.accords.norms import Norm
from edge_dan.owner.feedback import answer_from_row, feedback_log_change
from edge_dan.owner.peers import check_name, peer_from_row
from edge_dan.owner.profile import history_change, read_profile
from edge_dan.store.jsontext import load_json
from edge_dan.store.sqlcipher import Connection
from edge_dan.values.judgement import option_key
from edge_dan.values.ranking import clean_option

RowCheck = Callable[[Any], object]


def _identity(row: Any) -> None:
    Identity.from_secrets(bytes(row[0]), bytes(row[1]), bytes(row[2]))


def _json_object(text: Any) -> None:
    if not isinstance(text, str) or not isinstance(load_json(text), dict):
        raise ValueError("not a JSON object")


def _quiz(row: Any) -> None:
    _json_object(row[0])
    _json_object(row[1])


def _peer(row: Any) -> None:
    peer = peer_from_row(row[:7])
    if check_name(peer.name) != peer.name or fingerprint(peer.identity_key) != peer.fingerprint:
        raise ValueError("name or fingerprint differs from what pairing keeps")
    if row[7] is not None and len(bytes(row[7])) != 32:
        raise ValueError("partner advertising key has the wrong length")


def _accord(row: Any) -> None:
    key, data, complete = bytes(row[0]), bytes(row[1]), row[2]
    accord = Accord.from_bytes(data)
    merged = merge_accord(None, accord)  # checks every signature, as Accords.add does
    if accord.id != key or merged.to_bytes() != data or bool(complete) != merged.complete:
        raise ValueError("the accord differs from its key, its signatures or its flag")


def _norm(row: Any) -> None:
    key, data, complete = bytes(row[0]), bytes(row[1]), row[2]
    norm = Norm.from_bytes(data)
    merged = merge_norm(None, norm)
    if norm.digest != key or merged.to_bytes() != data or bool(complete) == bool(merged.missing):
        raise ValueError("the norm differs from its key, its signatures or its flag")
    if (bytes(row[3]), row[4], row[5]) != (norm.group_id, norm.name, norm.time_ms):
        raise ValueError("the norm's columns differ from its signed bytes")


def _contest(row: Any) -> None:
    option = clean_option(row[1], what="a contested option")
    if option != row[1] or option_key(option) != row[0]:
        raise ValueError("the option key does not match the option")


def _model_state(row: Any) -> None:
    _json_object(row[0])


# table -> (query, check of one row). Every table of the schema but ``profile`` (checked whole
# below) is here; tests/owner/test_restore_checks.py holds the list to the schema.
ROW_CHECKS: dict[str, tuple[str, RowCheck]] = {
    "identity": ("SELECT signing_seed, static_private, static_signature FROM identity", _identity),
    "profile_history": ("SELECT at, source, changes, note FROM profile_history", history_change),
    "quiz_responses": ("SELECT answers, result FROM quiz_responses", _quiz),
    "paired_peers": (
        "SELECT identity_key, static_key, fingerprint, name, advert_key, paired_at, method,"
        " peer_advertising_key FROM paired_peers",
        _peer,
    ),
    "feedback": (
        "SELECT id, at, preferred, rejected, preferred_scores, rejected_scores, tier FROM feedback",
        answer_from_row,
    ),
    "personal_model": ("SELECT state FROM personal_model", _model_state),
    "feedback_history": (
        "SELECT at, action, feedback_id, changes FROM feedback_history",
        feedback_log_change,
    ),
    "advertising_key": ("SELECT key FROM advertising_key", lambda row: bytes(row[0])),
    "accords": ("SELECT accord_id, data, complete FROM accords", _accord),
    "norms": ("SELECT norm_id, data, complete, group_id, name, time_ms FROM norms", _norm),
    "contests": ("SELECT option_key, option FROM contests", _contest),
}
WHOLE_TABLES = ("profile", "meta")  # read at once (``read_profile``) or the engine's own


def _each(table: str, rows: Iterable[Any], check: RowCheck) -> None:
    for number, row in enumerate(rows, 1):
        try:
            check(row)
        except (EdgeDanError, ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
            raise BackupError(f"row {number} of {table} is invalid ({exc})") from None


def check_rows(conn: Connection) -> None:
    """``BackupError`` naming the first row of ``conn`` the API would refuse to read."""
    _each("profile", [None], lambda _: read_profile(conn))
    for table, (query, check) in ROW_CHECKS.items():
        cursor = conn.execute(query)
        try:
            _each(table, cursor, check)
        finally:
            cursor.close()  # an unfinished read would keep the restore from rolling back
