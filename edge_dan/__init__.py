"""edge_dan: the Little Dan framework, a personal agent that runs on the owner's own device.

Everything an app needs is importable from here; the sub-packages hold the rest::

    from edge_dan import Agent, LoopbackHub, LoopbackNetwork, Owner, ValueModel, strategy_for

- The owner's data: ``Owner`` (``Owner.create(home, passphrase)``, ``Owner.open(...)``): profile,
  answers, partners, accords, norms, all in an encrypted store on the device; ``QUESTIONNAIRE``
  is the value questionnaire (``owner.profile.take_quiz(answers)`` keeps its answers).
- Judgement: ``ValueModel`` (``ValueModel.load()``) says which of the owner's values an option
  serves or goes against, and whether it would harm someone; ``ValueProfile`` is a set of values;
  ``owner.rank(options, model)`` refuses the harmful options and ranks the rest for the owner
  (a ``Ranking``).
- The agent: ``Agent(owner, networks=...)`` is found by nearby agents, pairs with a stranger
  whose owner opened pairing (numeric comparison: both owners see the same six digits) and
  negotiates with partners; ``LanNetwork`` (default: mDNS and TCP), ``BleNetwork`` (Bluetooth
  LE: ``BleNetwork.for_platform()``) or ``LoopbackNetwork`` with a ``LoopbackHub`` (agents in
  one process) are the networks it uses (each a ``Network``).
- Negotiation: an ``OutcomeSpace`` of ``TextIssue``, ``DiscreteIssue`` and ``IntegerIssue``;
  ``strategy_for(owner, space, model)`` is the owner's negotiator for it (harmful options are red
  lines whatever the profile); ``Agent.negotiate`` returns a ``NegotiationResult`` whose
  ``Accord`` every party signed (``accord.verify()`` checks it offline).
- Errors: every error is an ``EdgeDanError``; ``StoreError`` (``StoreNotFound``: no store yet),
  ``WrongPassphrase``,
  ``ProtocolError``, ``PairingError``, ``NegotiationError``, ``AccordError`` and ``AgentError``
  narrow it down.

Importing this package is cheap on purpose (phones, Raspberry Pi start-up): each name is loaded
the first time it is used, so the value model (onnxruntime), mDNS (zeroconf) and the BLE backends
are imported only by apps that use them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from edge_dan.errors import EdgeDanError, StoreError, WrongPassphrase

__version__ = "0.1.0"

# Public name -> the module that defines it (loaded on first use).
_WHERE = {
    "Agent": "edge_dan.agent",
    "AgentError": "edge_dan.agent",
    "AgentFailure": "edge_dan.agent",
    "NegotiationResult": "edge_dan.agent",
    "PartnerSession": "edge_dan.agent",
    "BleNetwork": "edge_dan.agent.ble_network",
    "LanNetwork": "edge_dan.agent.networks",
    "Network": "edge_dan.agent.networks",
    "LoopbackHub": "edge_dan.agent.networks",
    "LoopbackNetwork": "edge_dan.agent.networks",
    "strategy_for": "edge_dan.agent.values",
    "Owner": "edge_dan.owner",
    "KdfParams": "edge_dan.store",
    "ValueModel": "edge_dan.model",
    "ValueProfile": "edge_dan.values",
    "QUESTIONNAIRE": "edge_dan.values.questionnaire",
    "Ranking": "edge_dan.values.ranking",
    "StoreNotFound": "edge_dan.errors",
    "OutcomeSpace": "edge_dan.negotiation",
    "TextIssue": "edge_dan.negotiation",
    "DiscreteIssue": "edge_dan.negotiation",
    "IntegerIssue": "edge_dan.negotiation",
    "Accord": "edge_dan.negotiation",
    "AccordError": "edge_dan.negotiation",
    "NegotiationError": "edge_dan.negotiation",
    "RedLine": "edge_dan.negotiation.domain.utility",
    "Policy": "edge_dan.negotiation.strategy",
    "LittleDan": "edge_dan.negotiation.strategy",
    "ProtocolError": "edge_dan.wire.errors",
    "PairingError": "edge_dan.wire.errors",
    "Mode": "edge_dan.negotiation.strategy",
    "ApprovalNeeded": "edge_dan.negotiation.protocols.core",
    "Peer": "edge_dan.owner.peers",
    "PeerEntry": "edge_dan.discovery.directory",
    "Added": "edge_dan.discovery.directory",
    "Updated": "edge_dan.discovery.directory",
    "Removed": "edge_dan.discovery.directory",
}

__all__ = [
    "QUESTIONNAIRE",
    "Accord",
    "AccordError",
    "Added",
    "Agent",
    "AgentError",
    "AgentFailure",
    "ApprovalNeeded",
    "BleNetwork",
    "DiscreteIssue",
    "EdgeDanError",
    "IntegerIssue",
    "KdfParams",
    "LanNetwork",
    "LittleDan",
    "LoopbackHub",
    "LoopbackNetwork",
    "Mode",
    "NegotiationError",
    "NegotiationResult",
    "Network",
    "OutcomeSpace",
    "Owner",
    "PairingError",
    "PartnerSession",
    "Peer",
    "PeerEntry",
    "Policy",
    "ProtocolError",
    "Ranking",
    "RedLine",
    "Removed",
    "StoreError",
    "StoreNotFound",
    "TextIssue",
    "Updated",
    "ValueModel",
    "ValueProfile",
    "WrongPassphrase",
    "__version__",
    "strategy_for",
]


def __getattr__(name: str) -> Any:
    """Load a public name from its module the first time it is asked for (PEP 562)."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'edge_dan' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups do not come back here
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # what type checkers and IDEs see; at run time __getattr__ loads them
    from edge_dan.agent import (
        Agent,
        AgentError,
        AgentFailure,
        NegotiationResult,
        PartnerSession,
    )
    from edge_dan.agent.ble_network import BleNetwork
    from edge_dan.agent.networks import LanNetwork, LoopbackHub, LoopbackNetwork, Network
    from edge_dan.agent.values import strategy_for
    from edge_dan.discovery.directory import Added, PeerEntry, Removed, Updated
    from edge_dan.errors import StoreNotFound
    from edge_dan.model import ValueModel
    from edge_dan.negotiation import (
        Accord,
        AccordError,
        DiscreteIssue,
        IntegerIssue,
        NegotiationError,
        OutcomeSpace,
        TextIssue,
    )
    from edge_dan.negotiation.domain.utility import RedLine
    from edge_dan.negotiation.protocols.core import ApprovalNeeded
    from edge_dan.negotiation.strategy import LittleDan, Mode, Policy
    from edge_dan.owner import Owner
    from edge_dan.owner.peers import Peer
    from edge_dan.store import KdfParams
    from edge_dan.values import ValueProfile
    from edge_dan.values.questionnaire import QUESTIONNAIRE
    from edge_dan.values.ranking import Ranking
    from edge_dan.wire.errors import PairingError, ProtocolError
