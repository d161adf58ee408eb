"""Errors of the DECT side. `DectError` is the root below `FksimError`."""

from __future__ import annotations

from models.errors import FksimError


class DectError(FksimError):
    """Root of DECT-side errors."""


class IdentityError(DectError, ValueError):
    """A text or byte string is not a valid DECT identity (IPUI, IPEI, TPUI)."""
