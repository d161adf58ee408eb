"""The BroadWorks-like application server: registrar, `as-feature-event` notifier, FAC calls."""

from sip.server.app import ApplicationServer, ServerConfig
from sip.server.codes import DEFAULT_CODES, FacAction, FacCode, FacTable
from sip.server.faults import Faults
from sip.server.users import Directory, User

__all__ = [
    "DEFAULT_CODES",
    "ApplicationServer",
    "Directory",
    "FacAction",
    "FacCode",
    "FacTable",
    "Faults",
    "ServerConfig",
    "User",
]
