"""One error hierarchy for the hub.

Every error carries a stable machine-readable ``code`` (documented in ``docs/errors.md``) and a human
message. ``PermanentError`` means "the input is wrong, retrying will not help" (the sender gets a
``rejected`` acknowledgement); ``TransientError`` means "try again later" (broker or store trouble), so
retry policies are ``retry_if_exception_type(TransientError)``. Third-party exceptions are translated at
one boundary and chained with ``from``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorDetail:
    """One problem found in a message, as it appears in an acknowledgement's ``errors`` list."""

    code: str
    message: str
    path: str | None = None
    line: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, "path": self.path, "line": self.line}


class HubError(Exception):
    """Root of every error the hub raises on purpose."""

    code = "HUB_ERROR"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class PermanentError(HubError):
    """Retrying the same input cannot succeed."""

    code = "PERMANENT"


class TransientError(HubError):
    """A dependency is unavailable; the same input may succeed later."""

    code = "TRANSIENT"


class ConfigError(PermanentError):
    """The configuration is invalid; ``problems`` lists every problem found, each naming file and key."""

    code = "CONFIG_INVALID"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class MessageRejected(PermanentError):
    """A partner's message is refused; ``details`` go into the ``rejected`` acknowledgement."""

    code = "MESSAGE_REJECTED"

    def __init__(self, details: list[ErrorDetail]) -> None:
        if not details:
            raise ValueError("a rejection needs at least one error detail")
        super().__init__(details[0].message, code=details[0].code)
        self.details = details

    @classmethod
    def one(
        cls, code: str, message: str, path: str | None = None, line: int | None = None
    ) -> MessageRejected:
        return cls([ErrorDetail(code, message, path, line)])


class BrokerUnavailable(TransientError):
    """RabbitMQ refused or dropped a connection, or did not confirm a publish."""

    code = "BROKER_UNAVAILABLE"


class StoreUnavailable(TransientError):
    """The database could not be reached or a transaction failed for a passing reason."""

    code = "STORE_UNAVAILABLE"


class ProvisionError(PermanentError):
    """The broker refused a provisioning request."""

    code = "PROVISION_FAILED"
