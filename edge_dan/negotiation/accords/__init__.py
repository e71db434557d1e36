"""Signed records that bind a group: accords and group norms, verifiable offline.

- :mod:`.accord` — the signed record of one agreement (signing, verifying, canonical CBOR);
- :mod:`.norms` — a group's shared norms, signed like accords, which become red lines.

Imports only :mod:`edge_dan.negotiation.domain`.
"""
