"""``python -m hub`` runs the command line (used by tests to start real hub processes)."""

from __future__ import annotations

from hub.cli import app

app()
