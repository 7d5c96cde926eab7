# NOTE: Docker is not exercised by CI on these machines (there is no Docker engine there); CI runs
# ./scripts/test against Debian's RabbitMQ and PostgreSQL instead. Keep this file in step by hand.
#
# Image of the messaging hub (runtime dependencies only, no [dev] extras).
#
#   docker build -t nesws-hub .
#   docker run --rm -e HUB_BROKER_URL=... -e HUB_STORE_URL=... nesws-hub
#
# Configuration via environment:
#   HUB_BROKER_URL  AMQP URL of RabbitMQ (needs the management and consistent-hash plugins),
#                   e.g. amqp://guest:guest@rabbitmq:5672/
#   HUB_STORE_URL   SQLAlchemy URL of the PostgreSQL message store,
#                   e.g. postgresql+psycopg://hub@postgres:5432/hub
# The example configuration is baked in at /app/config; mount your own over it in production.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --home-dir /home/hub --uid 10001 --user-group hub

WORKDIR /app

# Non-editable install into site-packages; the build leftovers are removed afterwards.
COPY pyproject.toml ./
COPY hub ./hub
RUN pip install . && rm -rf /app/hub /app/build /app/*.egg-info

COPY config ./config
RUN mkdir -p /var/lib/hub /app/var && chown hub:hub /var/lib/hub /app/var

USER hub

ENTRYPOINT ["hub"]
CMD ["--config", "/app/config", "run"]
