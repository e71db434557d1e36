"""Pairing: how two Little Dans come to trust each other's keys (sans-IO).

- ``numeric``: numeric comparison with commit and reveal after an XX handshake (two screens, the
  owners compare six digits); a core under the contract of ``edge_dan.wire.core`` (the session's
  messages in and out, the code to show and the result as events).
- ``qr``: a one-time QR payload (static key + 128-bit secret) into ``IKpsk2``; a one-shot
  handshake helper (no messages of its own).
- ``code``: a short typed code through SPAKE2 into ``XXpsk3`` (a device without a screen); a
  one-shot handshake helper (one message each way, before the session).
- ``policy``: what a peer may do after a handshake (unpaired: only pair; paired with another key:
  refused).

Every method ends in a ``PairingResult`` that the owner keeps (``edge_dan.owner.Owner.peers``).
"""

from edge_dan.pairing.code import CodeEntry, CodeWindow
from edge_dan.pairing.numeric import NumericComparison
from edge_dan.pairing.qr import QrInvite, QrPayload, QrScan
from edge_dan.pairing.result import PairingMethod, PairingResult

__all__ = [
    "CodeEntry",
    "CodeWindow",
    "NumericComparison",
    "PairingMethod",
    "PairingResult",
    "QrInvite",
    "QrPayload",
    "QrScan",
]
