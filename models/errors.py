"""The one root of every error fksim raises on purpose (conventions point 5).

Layers below `scenarios` raise subclasses of `FksimError`; the command line catches exactly this root,
prints its message (which names the place: file, line, field, offset) and exits 2, so bad input never
produces a traceback. Protocol errors in `sip` and `dect` subclass it and carry their wire code.
"""

from __future__ import annotations


class FksimError(Exception):
    """Root of all deliberate fksim errors. `str(err)` is a complete, user-facing sentence."""


class ConfigError(FksimError):
    """A configuration, profile or provisioning input is invalid.

    `where` names the place ("models/profiles/n610.yaml: capacities.handsets_per_system"), and is
    put in front of the message when given.
    """

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.where = where
        self.detail = message
        super().__init__(f"{where}: {message}" if where else message)
