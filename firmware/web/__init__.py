"""The base's web interface (spec/base-models.md §5): Flask pages over a `WebBackend`.

`create_app(backend, secret_key=...)` builds the application; `StoreBackend` is the backend over a
base's NVM store and model profile, which the live twin wraps to push changes into the running
firmware. docs/web.md describes the pages, the security model and the Protocol.
"""

from firmware.web.app import create_app
from firmware.web.backend import (
    Change,
    ChangeKind,
    HandsetRow,
    HandsetRuntime,
    NotRunningError,
    ProvisioningResult,
    RuntimeView,
    WebBackend,
    WebInputError,
)
from firmware.web.store_backend import StoreBackend

__all__ = [
    "Change",
    "ChangeKind",
    "HandsetRow",
    "HandsetRuntime",
    "NotRunningError",
    "ProvisioningResult",
    "RuntimeView",
    "StoreBackend",
    "WebBackend",
    "WebInputError",
    "create_app",
]
