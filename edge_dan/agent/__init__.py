"""The Agent: one Little Dan on the network, composed from the layers below (see ``core``).

- ``core``: ``Agent``: the owner's data, identity, listener, discovery, partner sessions.
- ``negotiations``: negotiating with partners over those sessions, mediator or participant,
  and keeping the signed accords.
"""

from edge_dan.agent.core import Agent, AgentError, PartnerSession
from edge_dan.agent.negotiations import NegotiationResult, Negotiations

__all__ = ["Agent", "AgentError", "NegotiationResult", "Negotiations", "PartnerSession"]
