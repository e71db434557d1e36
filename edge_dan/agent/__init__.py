"""The Agent: one Little Dan on the network, composed from the layers below (see ``core``)."""

from edge_dan.agent.core import Agent, AgentError, PartnerSession

__all__ = ["Agent", "AgentError", "PartnerSession"]
