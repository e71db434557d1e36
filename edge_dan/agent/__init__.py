"""The Agent: one Little Dan on the network, composed from the layers below (see ``core``).

- ``core``: ``Agent``: the owner's data, identity, the networks, discovery, partner sessions.
- ``networks``: how the agent is found and reached (``LanNetwork``, ``LoopbackNetwork``);
  ``ble_network``: ``BleNetwork``, Bluetooth LE.
- ``sessions``: ``PartnerSession``, and what the agent offers the parts that serve sessions.
- ``pairing``: pairing with a stranger nearby (numeric comparison; both owners answer).
- ``pairing_offers``: pairing by QR code (``offer_qr``, ``pair_by_qr``) and by typed code
  (``offer_code``, ``pair_by_code``); both owners name each other.
- ``negotiations``: negotiating with partners over those sessions, mediator or participant,
  and keeping the signed accords; ``Move``: one message of a negotiation, for ``observe``.
- ``values``: from the owner's values to a negotiation strategy (``strategy_for``).
"""

from edge_dan.agent.core import Agent, AgentError, AgentFailure
from edge_dan.agent.negotiations import Move, MoveObserver, NegotiationResult, Negotiations
from edge_dan.agent.sessions import PartnerSession

__all__ = [
    "Agent",
    "AgentError",
    "AgentFailure",
    "Move",
    "MoveObserver",
    "NegotiationResult",
    "Negotiations",
    "PartnerSession",
]
