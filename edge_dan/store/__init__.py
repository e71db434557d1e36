"""The encrypted database engine: a SQLCipher file, or a sealed stdlib sqlite3 snapshot where
SQLCipher is missing (``engines``), in a private home, its key and its migrations.

This is the lowest layer that keeps anything: it opens, creates, re-keys, backs up and restores a
store, keeps it safe across crashes and processes, and runs the migrations of a ``Schema`` it is
given. It knows nothing about what is kept in it (that is ``edge_dan.owner``) and imports nothing
from edge_dan but ``edge_dan.errors``. Its errors say what is wrong; what to run about it is for the
layer that talks to a person (``edge_dan.cli``).
"""

from edge_dan.store.backup import export_backup, import_backup, read_backup
from edge_dan.store.home import resolve_home
from edge_dan.store.keyfile import KdfParams, calibrate
from edge_dan.store.schema import Schema
from edge_dan.store.store import Store

__all__ = [
    "KdfParams",
    "Schema",
    "Store",
    "calibrate",
    "export_backup",
    "import_backup",
    "read_backup",
    "resolve_home",
]
