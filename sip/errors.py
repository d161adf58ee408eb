"""The SIP error hierarchy: one root, and protocol errors that carry the status to answer with.

Conventions point 5: a `RemoteProtocolError` means the peer broke the protocol (we answer it with
`status`/`reason`, e.g. 400 "Malformed Via header"), a `LocalProtocolError` means our own caller
asked for something the protocol forbids (a bug on our side, never sent on the wire).
"""

from __future__ import annotations

from models.errors import FksimError


class SipError(FksimError):
    """Root of every error raised on purpose by `sip`."""


class ProtocolError(SipError):
    """A SIP protocol violation, with the status code and reason phrase to answer it with."""

    def __init__(self, reason: str, *, status: int = 400) -> None:
        self.status = status
        self.reason = reason
        super().__init__(f"{status} {reason}")


class RemoteProtocolError(ProtocolError):
    """The peer sent something malformed or out of place; answer `status reason` (or drop a response)."""


class LocalProtocolError(ProtocolError):
    """We were asked to do something the protocol forbids (wrong state, invalid value to send)."""
