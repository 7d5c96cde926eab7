"""The operations console: one web page for operators watching deliveries during an outage (docs/console.md).

``app`` (WSGI routing and serving), ``auth`` (operators, sessions, CSRF), ``data`` (figures, throughput,
actions), ``views`` (HTML), ``cli`` (``hub console``), ``static/`` (one stylesheet, one script).
"""
