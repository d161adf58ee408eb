"""What the web interface reads and changes: the `WebBackend` Protocol and the data it passes.

One responsibility: define the only door between the base's web pages (`firmware.web.app`) and the
base. The pages never touch the NVM store, the gating rule or the provisioning code themselves; they
call a `WebBackend`. `firmware.web.store_backend.StoreBackend` implements it over an `NvmStore` and a
`ModelProfile`; the live twin (`fksim serve`) wraps or subclasses that: its `on_change` hook is called
after every successful change with a `Change`, so the running firmware can act at once (subscribe,
unsubscribe, re-register), and its `runtime` provider returns a `RuntimeView` of the state only a
running base has (SIP registration and subscription, feature state, DECT attachment), which defaults
to "not running".

Errors the user caused (a value out of range, a gated FKS enable, an unknown handset) are
`WebInputError`s: the page shows their message next to the form. Asking a base that is not running for
its virtual handsets is a `NotRunningError`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from dect.identity import Ipui
from firmware.gating import FksVerdict
from firmware.nvm import Account, Handset, NvmStore
from firmware.provisioning import Diagnostic, Level
from models.errors import FksimError
from models.profiles import ModelProfile

#: What a handset's runtime fields read while no live firmware is attached.
NOT_RUNNING = "not running"
#: The feature names of the status contract (feature-key-sync.md §1), in documented order.
FEATURES = ("dnd", "cfa", "cfb", "cfna")


class WebInputError(FksimError):
    """Something the admin asked for cannot be done; `str(err)` says why.

    `fields` maps a form field to the message shown next to it.
    """

    def __init__(self, message: str, *, fields: Mapping[str, str] | None = None) -> None:
        self.fields = dict(fields or {})
        super().__init__(message)


class UnknownHandsetError(WebInputError):
    """No handset with that IPUI or index on the base."""


class NotRunningError(WebInputError):
    """A runtime-only operation (virtual handsets, recording) on a base that is not running."""


# --- changes (what `on_change` receives) ----------------------------------------------------------


class ChangeKind(enum.Enum):
    INTERNAL_TELEPHONY = "internal_telephony"
    HANDSET = "handset"  # account or handset fields; `fields` names them
    FEATURE_KEY_SYNC = "feature_key_sync"
    HANDSET_REMOVED = "handset_removed"  # de-registered from the web interface (ToDeReg)
    PROVISIONING = "provisioning"  # a whole file applied: re-read everything
    ADMIN_PASSWORD = "admin_password"


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """One successful change, after it is in the NVM. `value` is the new value where there is one."""

    kind: ChangeKind
    index: int | None = None
    ipui: Ipui | None = None
    fields: tuple[str, ...] = ()
    value: Any = None


# --- runtime state (what only a running base knows) -----------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class HandsetRuntime:
    """A running handset's state as the live firmware reports it.

    `dect`: attachment (e.g. ``attached to DECT manager 1``, ``out of range``); `sip_registration` and
    `subscription` are free text of the SIP user agent's state (``registered``, ``active``, ``489 Bad
    Event, retry in 60 s`` ...); `features` the FKS feature state in the result format of
    scenarios-and-cli.md §3 (``{"dnd": false, "cfa": {"active": false, "to": ""}, ...}``), or None.
    """

    dect: str = NOT_RUNNING
    sip_registration: str = NOT_RUNNING
    subscription: str = NOT_RUNNING
    features: Mapping[str, Any] | None = None
    handset_type: str | None = None
    handset_firmware: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RuntimeView:
    """A snapshot of the running base; `handsets` is keyed by IPUI (handsets without one are not running)."""

    running: bool = False
    handsets: Mapping[Ipui, HandsetRuntime] = field(default_factory=dict)
    #: Free text about the SIP side, e.g. ``server 127.0.0.1:5070 (embedded)``.
    server: str | None = None
    #: Transport errors worth an operator's eye (a TLS certificate that does not verify), newest last.
    sip_errors: tuple[str, ...] = ()


RuntimeProvider = Callable[[], RuntimeView]
ChangeHook = Callable[[Change], None]


def not_running() -> RuntimeView:
    """The default runtime provider: a base whose firmware is not running."""
    return RuntimeView()


# --- what the pages show ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class HandsetRow:
    """One line of SETTINGS → Mobile devices → Administration."""

    handset: Handset
    account: Account | None
    verdict: FksVerdict
    runtime: HandsetRuntime
    #: Why the firmware will not start this account as stored (a value `firmware.account_rules`
    #: refuses, e.g. from an NVM written before the rules), or None.
    problem: str | None = None

    @property
    def ref(self) -> str:
        """How URLs name the handset: its IPUI, or its index while it has none."""
        return str(self.handset.ipui) if self.handset.ipui is not None else str(self.handset.index)


@dataclass(frozen=True, slots=True, kw_only=True)
class ProvisioningResult:
    """What checking or applying a provisioning file found; `applied` is False when nothing was applied."""

    source: str
    diagnostics: tuple[Diagnostic, ...]
    applied: bool
    #: The file set the admin password (`WebUIAccounts.1.Password`): other sessions must log in again.
    admin_password_changed: bool = False

    @property
    def errors(self) -> int:
        return sum(1 for d in self.diagnostics if d.level is Level.ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for d in self.diagnostics if d.level is Level.WARNING)


# --- the Protocol ----------------------------------------------------------------------------------


@runtime_checkable
class WebBackend(Protocol):
    """Everything the web interface reads and changes. Every change persists before it returns and
    takes effect on the running twin at once; errors the user caused are `WebInputError`s."""

    @property
    def profile(self) -> ModelProfile: ...

    @property
    def store(self) -> NvmStore: ...

    def now(self) -> float:
        """Seconds on a monotonic clock (lockout, session idle time); injectable for tests."""
        ...

    # admin account
    def verify_admin_password(self, password: str) -> bool: ...
    def admin_must_change_password(self) -> bool: ...
    def set_admin_password(self, password: str) -> None: ...

    # reading
    def internal_telephony(self) -> bool | None:
        """The setting, or None on a model that has none."""
        ...

    def handset_rows(self) -> list[HandsetRow]: ...
    def handset_row(self, ref: str) -> HandsetRow:
        """The handset named by IPUI (10 hex digits) or index; `UnknownHandsetError` if none."""
        ...

    def provider_choices(self) -> list[tuple[int, str]]: ...
    def status(self) -> dict[str, Any]:
        """The JSON status of `/api/status` (docs/web.md)."""
        ...

    # changing
    def set_internal_telephony(self, enabled: bool) -> None: ...
    def update_handset(self, ref: str, fields: Mapping[str, str]) -> HandsetRow | None:
        """Validate and store the edit form's fields, all or none (`WebInputError` with `fields`).

        Returns the handset afterwards, or None when the form de-registered it (ToDeReg).
        """
        ...

    def set_feature_key_sync(self, ref: str, active: bool) -> None: ...
    def check_provisioning(self, data: bytes, source: str) -> ProvisioningResult: ...
    def apply_provisioning(self, data: bytes, source: str) -> ProvisioningResult: ...

    # virtual handsets (the live runtime only)
    def handset_screen(self, ipui: Ipui) -> dict[str, Any]:
        """``{"lines": [str, ...], ...}``: what the handset's display shows now."""
        ...

    def press_key(self, ipui: Ipui, key: str) -> dict[str, Any]:
        """Press one key (dect.menu.KEYS) on the handset; returns its screen afterwards."""
        ...

    def recording(self) -> bool: ...
    def start_recording(self) -> None: ...
    def stop_recording(self) -> str:
        """Stop recording; the scenario file (YAML text) of the keys pressed and server changes seen."""
        ...


def row_status(row: HandsetRow) -> dict[str, Any]:
    """One handset of `/api/status`."""
    account = row.account
    runtime = row.runtime
    return {
        "index": row.handset.index,
        "ipui": str(row.handset.ipui) if row.handset.ipui is not None else None,
        "user_name": account.user_name if account else "",
        "display_name": account.display_name if account else "",
        "dect_manager": row.handset.dect_manager,
        "reg_status": row.handset.reg_status.value,
        "dect": runtime.dect,
        "fks": {
            "supported": row.verdict.supported,
            "active": row.verdict.active,
            "reason": row.verdict.reason,
        },
        "sip": {"registration": runtime.sip_registration, "subscription": runtime.subscription},
        "features": dict(runtime.features) if runtime.features is not None else None,
        "handset_type": runtime.handset_type,
        "handset_firmware": runtime.handset_firmware,
    }


def diagnostics_text(diagnostics: Sequence[Diagnostic]) -> list[str]:
    """``file:line: level: message`` lines, as `fksim provision lint` prints them."""
    return [str(d) for d in diagnostics]
