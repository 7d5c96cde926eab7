"""The single-window messaging hub: ingest, validate, correlate and route trade messages."""

from __future__ import annotations

__version__ = "0.1.0"
CONTRACT_VERSION = "1"
