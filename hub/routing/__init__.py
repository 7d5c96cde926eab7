"""Routing: a pure, data-driven function from a message to its recipients under the access table."""

from __future__ import annotations

from hub.routing.engine import Exclusion, Recipient, RoutingDecision, RoutingTable, route

__all__ = ["Exclusion", "Recipient", "RoutingDecision", "RoutingTable", "route"]
