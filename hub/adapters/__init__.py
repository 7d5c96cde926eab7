"""Partner adapters: one module per partner system (a pure codec plus a transport).

Contract v1's three first types are decoded by the catalogue (``hub.catalogue``) and delivered to AMQP
inboxes by the pipeline; per-partner adapters (EDIFACT, HTTP webhooks, amqps) arrive with the partners
and delivery work and will live here.
"""
