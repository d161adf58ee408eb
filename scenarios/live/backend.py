"""The web interface's `WebBackend` for the live twin.

One responsibility: connect the base's web pages (`firmware.web`) to the running firmware.

- `LiveBackend` subclasses `StoreBackend` (the firmware's own rules for every change, in the NVM
  first) and runs on the twin's thread: its `on_change` carries each change into the running
  system at once (FKS -> `BaseSystem.set_feature_key_sync`, internal telephony ->
  `BaseSystem.set_internal_telephony`, an edited or removed handset or an applied provisioning file ->
  the accounts re-registered, subscribed or unsubscribed as gating now says, new handsets emulated);
  its runtime provider reads the SIP, DECT and feature state of the running system and handsets;
  and the virtual handsets are the twin's emulated handsets, with recording.
- `ThreadedBackend` is what the web server holds: every call is handed to the twin's thread
  (`LiveTwin.call`), since the cores and the NVM's SQLite connection belong to that thread
  (docs/web.md "Threads"). Only the clock and the profile are read directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dect.identity import Ipui
from firmware.nvm import NvmStore
from firmware.web.backend import (
    Change,
    ChangeKind,
    HandsetRow,
    NotRunningError,
    ProvisioningResult,
    UnknownHandsetError,
    WebBackend,
    WebInputError,
)
from firmware.web.store_backend import StoreBackend
from models.profiles import ModelProfile
from scenarios.live.twin import LiveTwin, NotRunning

#: What the virtual handset page shows for a handset slot that may not register (NotReg).
NOT_REGISTERED = "Not registered to the base"


class LiveBackend(StoreBackend):
    """`StoreBackend` over the running twin's NVM, with its changes applied to the running firmware."""

    def __init__(self, twin: LiveTwin) -> None:
        super().__init__(twin.store, twin.profile, on_change=self._apply, runtime=twin.runtime_view)
        self.twin = twin

    def _apply(self, change: Change) -> None:
        twin = self.twin
        if change.kind is ChangeKind.FEATURE_KEY_SYNC and change.ipui is not None \
                and twin.store.account(change.ipui) is not None:
            twin.feature_key_sync_changed(change.ipui, bool(change.value))
        elif change.kind is ChangeKind.INTERNAL_TELEPHONY:
            twin.internal_telephony_changed(bool(change.value))
        elif change.kind in (ChangeKind.HANDSET, ChangeKind.HANDSET_REMOVED, ChangeKind.PROVISIONING,
                             ChangeKind.FEATURE_KEY_SYNC):
            twin.reconcile()
        # ADMIN_PASSWORD: the web layer ends the other sessions; nothing runs on it.

    # --- virtual handsets ------------------------------------------------------------------------

    def _driver_of(self, ipui: Ipui) -> Any:
        """The emulated handset; None for a handset of the NVM that is not registered (NotReg)."""
        driver = self.twin.handsets.get(ipui)
        if driver is None and self.store.handset(ipui) is None:
            raise UnknownHandsetError(f"no handset {ipui} on this base")
        return driver

    def handset_screen(self, ipui: Ipui) -> dict[str, Any]:
        driver = self._driver_of(ipui)
        if driver is None:
            # A slot that may not register (NotReg, base-models.md §3): no handset is running for it.
            return {"lines": [NOT_REGISTERED], "state": None, "pending": [], "fks": None}
        handset = driver.handset
        line = self.twin.system.line_of(ipui)
        return {
            "lines": list(handset.display),
            "state": handset.state(),
            "pending": sorted(handset.pending),
            "fks": line.fks.fks.value if line is not None else None,
        }

    def press_key(self, ipui: Ipui, key: str) -> dict[str, Any]:
        if self._driver_of(ipui) is None:
            raise WebInputError(f"handset {ipui} is not registered to the base (NotReg): "
                                "set it to ToReg first")
        self.twin.press(ipui, key)
        return self.handset_screen(ipui)

    def recording(self) -> bool:
        return self.twin.recording is not None

    def start_recording(self) -> None:
        self.twin.start_recording()

    def stop_recording(self) -> str:
        if self.twin.recording is None:
            raise NotRunningError("no recording is running: press \u201cRecord a scenario\u201d first")
        return self.twin.stop_recording()


class ThreadedBackend:
    """A `WebBackend` for the web server's thread: each call runs on the twin's thread."""

    def __init__(self, twin: LiveTwin, inner: LiveBackend) -> None:
        self._twin = twin
        self._inner = inner

    def _call(self, fn: Any, *args: Any) -> Any:
        try:
            return self._twin.call(lambda: fn(*args))
        except NotRunning as err:
            raise NotRunningError(f"The base is not running: {err}") from None

    @property
    def profile(self) -> ModelProfile:
        return self._inner.profile

    @property
    def store(self) -> NvmStore:
        # Only for reading on the twin's thread: the SQLite connection belongs to it.
        return self._inner.store

    def now(self) -> float:
        return self._inner.now()

    def verify_admin_password(self, password: str) -> bool:
        return bool(self._call(self._inner.verify_admin_password, password))

    def admin_must_change_password(self) -> bool:
        return bool(self._call(self._inner.admin_must_change_password))

    def set_admin_password(self, password: str) -> None:
        self._call(self._inner.set_admin_password, password)

    def internal_telephony(self) -> bool | None:
        result: bool | None = self._call(self._inner.internal_telephony)
        return result

    def handset_rows(self) -> list[HandsetRow]:
        result: list[HandsetRow] = self._call(self._inner.handset_rows)
        return result

    def handset_row(self, ref: str) -> HandsetRow:
        result: HandsetRow = self._call(self._inner.handset_row, ref)
        return result

    def provider_choices(self) -> list[tuple[int, str]]:
        result: list[tuple[int, str]] = self._call(self._inner.provider_choices)
        return result

    def status(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call(self._inner.status)
        return result

    def set_internal_telephony(self, enabled: bool) -> None:
        self._call(self._inner.set_internal_telephony, enabled)

    def update_handset(self, ref: str, fields: Mapping[str, str]) -> HandsetRow | None:
        result: HandsetRow | None = self._call(self._inner.update_handset, ref, dict(fields))
        return result

    def set_feature_key_sync(self, ref: str, active: bool) -> None:
        self._call(self._inner.set_feature_key_sync, ref, active)

    def check_provisioning(self, data: bytes, source: str) -> ProvisioningResult:
        result: ProvisioningResult = self._call(self._inner.check_provisioning, data, source)
        return result

    def apply_provisioning(self, data: bytes, source: str) -> ProvisioningResult:
        result: ProvisioningResult = self._call(self._inner.apply_provisioning, data, source)
        return result

    def handset_screen(self, ipui: Ipui) -> dict[str, Any]:
        result: dict[str, Any] = self._call(self._inner.handset_screen, ipui)
        return result

    def press_key(self, ipui: Ipui, key: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call(self._inner.press_key, ipui, key)
        return result

    def recording(self) -> bool:
        return bool(self._call(self._inner.recording))

    def start_recording(self) -> None:
        self._call(self._inner.start_recording)

    def stop_recording(self) -> str:
        return str(self._call(self._inner.stop_recording))


if TYPE_CHECKING:
    # mypy checks both against the Protocol, signature by signature.
    def _conforms(live: LiveBackend, threaded: ThreadedBackend) -> tuple[WebBackend, WebBackend]:
        return live, threaded
