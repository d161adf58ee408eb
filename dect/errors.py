"""Errors of the DECT side. `DectError` is the root below `FksimError`."""

from __future__ import annotations

from models.errors import FksimError


class DectError(FksimError):
    """Root of DECT-side errors."""


class IdentityError(DectError, ValueError):
    """A text or byte string is not a valid DECT identity (IPUI, IPEI, TPUI)."""


#: RELEASE-REASON codes (EN 300 175-5 §7.6.7) that a protocol error asks the receiver to answer with.
REASON_UNEXPECTED_MESSAGE = 0x01
REASON_MANDATORY_IE_MISSING = 0x03
REASON_INVALID_IE_CONTENTS = 0x04
REASON_SERVICE_NOT_IMPLEMENTED = 0x06
REASON_TIMER_EXPIRY = 0x0D


class ProtocolError(DectError):
    """An NWK message broke EN 300 175-5 (conventions point 5: errors carry their wire code).

    `reason` is the RELEASE-REASON code to answer with where a reply exists (04 invalid IE contents,
    01 unexpected message, 03 mandatory IE missing); `offset` is the octet offset in the message where
    the problem was found and `ie` the name of the element concerned, when there is one.
    """

    def __init__(
        self, message: str, *, reason: int, offset: int | None = None, ie: str | None = None
    ) -> None:
        self.reason = reason
        self.offset = offset
        self.ie = ie
        self.detail = message
        where = []
        if offset is not None:
            where.append(f"offset {offset}")
        if ie is not None:
            where.append(ie)
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class RemoteProtocolError(ProtocolError):
    """The peer sent bytes that do not decode: answer with `reason`, log it, keep running."""


class LocalProtocolError(ProtocolError):
    """We were asked to encode something EN 300 175-5 does not allow (a bug on our side)."""
