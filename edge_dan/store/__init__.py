"""The owner's encrypted store (SQLCipher + sqlite-utils) and its key handling."""

from edge_dan.store.backup import export_backup, import_backup, read_backup
from edge_dan.store.home import resolve_home
from edge_dan.store.keyfile import KdfParams, calibrate
from edge_dan.store.store import Store

__all__ = [
    "KdfParams",
    "Store",
    "calibrate",
    "export_backup",
    "import_backup",
    "read_backup",
    "resolve_home",
]
