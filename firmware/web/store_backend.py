"""`StoreBackend`: the web interface's `WebBackend` over a base's NVM store and model profile.

One responsibility: carry out what the web pages ask with the firmware's own rules. `firmware.gating`
decides FKS (an enable on a gated handset is refused, with the reason); `firmware.provisioning` checks
and applies uploaded files; the provisioning value specs (`firmware.provisioning_params`) validate
every edit-form field, so a field has the same limits in a file and in the form (AuthName at most 74
characters [fact], the rest as docs/provisioning.md lists). Every change is in the NVM before
`on_change` is called with a `Change` saying what changed.

A `StoreBackend` has no running firmware: its runtime provider defaults to "not running" and the
virtual-handset operations raise `NotRunningError`. The live twin passes its own `runtime` provider
and `on_change` hook, and overrides the virtual-handset methods.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from dect.errors import IdentityError
from dect.identity import Ipui
from firmware.account_rules import account_problem
from firmware.gating import base_verdict, fks_verdict
from firmware.gating import set_internal_telephony as gating_set_internal_telephony
from firmware.nvm import Account, Handset, NvmError, NvmStore, RegStatus, SipProvider
from firmware.provisioning import (
    Diagnostic,
    ProvisioningDoc,
    ProvisioningSyntaxError,
    lint,
    parse_provisioning,
)
from firmware.provisioning import apply as provisioning_apply
from firmware.provisioning_params import (
    ACCOUNT_PARAMS,
    ADMIN_PASSWORD_PARAM,
    DECT_AC,
    MAX_PROVIDERS,
    ValueSpec,
)
from firmware.web.backend import (
    Change,
    ChangeHook,
    ChangeKind,
    HandsetRow,
    HandsetRuntime,
    NotRunningError,
    ProvisioningResult,
    RuntimeProvider,
    RuntimeView,
    UnknownHandsetError,
    WebBackend,
    WebInputError,
    not_running,
    row_status,
)
from models.errors import ConfigError
from models.profiles import FksFeature, ModelProfile

#: Edit-form field -> (Account field, spec): the same limits as the provisioning parameters.
ACCOUNT_FORM_FIELDS: dict[str, tuple[str, ValueSpec]] = {
    "auth_name": ACCOUNT_PARAMS["AuthName"],
    "auth_password": ACCOUNT_PARAMS["AuthPassword"],
    "user_name": ACCOUNT_PARAMS["UserName"],
    "display_name": ACCOUNT_PARAMS["DisplayName"],
    "voicemail_mailbox": ACCOUNT_PARAMS["VoiceMailMailbox"],
}
#: Registration actions the edit form offers.
REG_ACTIONS = {"": "no change", "ToReg": "register (ToReg)", "ToDeReg": "de-register (ToDeReg)"}
_YES_NO = {"1": True, "0": False}


def _validate(spec: ValueSpec, text: str) -> tuple[Any, str | None]:
    try:
        return spec.convert(text), None
    except ValueError as err:
        return None, str(err)


class StoreBackend:
    """`WebBackend` over an NVM store and a model profile: what a base that is not running can do.

    `on_change` is called after every successful change; `runtime` supplies the running base's state
    (default: not running); `clock` is `time.monotonic` unless a test injects one.
    """

    def __init__(
        self,
        store: NvmStore,
        profile: ModelProfile,
        *,
        on_change: ChangeHook | None = None,
        runtime: RuntimeProvider = not_running,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._profile = profile
        self._on_change = on_change
        self._runtime = runtime
        self._clock = clock

    @property
    def profile(self) -> ModelProfile:
        return self._profile

    @property
    def store(self) -> NvmStore:
        return self._store

    def now(self) -> float:
        return self._clock()

    def _changed(self, change: Change) -> None:
        if self._on_change is not None:
            self._on_change(change)

    # --- admin account ---------------------------------------------------------------------------

    def verify_admin_password(self, password: str) -> bool:
        return self._store.verify_admin_password(password)

    def admin_must_change_password(self) -> bool:
        return self._store.admin_must_change_password

    def set_admin_password(self, password: str) -> None:
        self._store.set_admin_password(password, must_change=False)
        self._changed(Change(kind=ChangeKind.ADMIN_PASSWORD))

    # --- reading ---------------------------------------------------------------------------------

    def internal_telephony(self) -> bool | None:
        if not self._profile.has_internal_telephony_setting.value:
            return None
        return self._store.internal_telephony

    def _row(self, handset: Handset, view: RuntimeView, internal_telephony: bool,
             providers: Mapping[int, SipProvider]) -> HandsetRow:
        runtime = view.handsets.get(handset.ipui) if handset.ipui is not None else None
        account = self._store.account(handset.index)
        problem = None
        if account is not None and account.user_name:
            # The rule the firmware applies before it starts the account (BaseSystem), shown here.
            provider = providers.get(account.provider_id) or providers.get(1)
            problem = account_problem(account, provider, str(handset.ipui or handset.index))
        # The gating rule decides; the system setting is read once per page, not once per handset
        # (an integrator lists up to 20,000 of them).
        verdict = fks_verdict(
            self._profile,
            internal_telephony=internal_telephony,
            feature_key_sync_active=account is not None and account.feature_key_sync_active,
        )
        return HandsetRow(
            handset=handset,
            account=account,
            verdict=verdict,
            runtime=runtime or HandsetRuntime(),
            problem=problem,
        )

    def handset_rows(self) -> list[HandsetRow]:
        return self._rows(self._runtime())

    def _rows(self, view: RuntimeView) -> list[HandsetRow]:
        internal = self._store.internal_telephony
        providers = {p.provider_id: p for p in self._store.providers()}
        return [self._row(h, view, internal, providers) for h in self._store.handsets()]

    def _find(self, ref: str) -> Handset:
        text = str(ref).strip()
        found: Handset | None
        if text.isascii() and text.isdigit() and len(text) <= 5:
            found = self._store.handset(int(text))
        else:
            try:
                found = self._store.handset(Ipui.parse(text))
            except IdentityError as err:
                raise UnknownHandsetError(f"no handset {text!r}: {err}") from None
        if found is None:
            raise UnknownHandsetError(f"no handset {text} on this base")
        return found

    def handset_row(self, ref: str) -> HandsetRow:
        providers = {p.provider_id: p for p in self._store.providers()}
        return self._row(self._find(ref), self._runtime(), self._store.internal_telephony, providers)

    def provider_choices(self) -> list[tuple[int, str]]:
        names = {p.provider_id: p.name or p.domain for p in self._store.providers()}
        return [
            (n, f"{n}: {names[n]}" if names.get(n) else f"{n}: (not configured)")
            for n in range(1, MAX_PROVIDERS + 1)
        ]

    def status(self) -> dict[str, Any]:
        profile = self._profile
        view = self._runtime()
        rows = self._rows(view)
        internal = self.internal_telephony()
        base = base_verdict(profile, internal_telephony=bool(internal))
        return {
            "version": 1,
            "model": {
                "id": profile.id,
                "name": profile.name,
                "system_type": profile.system_type.value.value,
                "firmware_version": profile.firmware_version.value,
                "roles": list(profile.roles.value),
                "has_internal_telephony_setting": profile.has_internal_telephony_setting.value,
                "fks_features": [f.value for f in FksFeature if profile.syncs(f)],
                "max_handsets": profile.capacities.per_system.handsets.value,
            },
            "running": view.running,
            "server": view.server,
            "sip_errors": list(view.sip_errors),
            "internal_telephony": internal,
            "fks": {"supported": base.supported, "reason": base.reason},
            "counts": {
                "handsets": len(rows),
                "registered": sum(1 for r in rows if r.handset.reg_status is RegStatus.REGISTERED),
                "fks_active": sum(1 for r in rows if r.verdict.active),
            },
            "handsets": [row_status(r) for r in rows],
        }

    # --- changing --------------------------------------------------------------------------------

    def set_internal_telephony(self, enabled: bool) -> None:
        try:
            gating_set_internal_telephony(self._profile, self._store, enabled)
        except ConfigError as err:
            raise WebInputError(str(err)) from None
        self._changed(Change(kind=ChangeKind.INTERNAL_TELEPHONY, value=enabled))

    def update_handset(self, ref: str, fields: Mapping[str, str]) -> HandsetRow | None:
        handset = self._find(ref)
        account = self._store.account(handset.index) or Account()
        errors: dict[str, str] = {}
        changes: dict[str, Any] = {}

        def take(name: str, spec: ValueSpec, attr: str) -> None:
            if name not in fields:
                return
            value, problem = _validate(spec, fields[name])
            if problem:
                errors[name] = problem
            elif value != getattr(account, attr):
                changes[attr] = value

        for name, (attr, spec) in ACCOUNT_FORM_FIELDS.items():
            if name == "auth_password" and fields.get(name, "") == "":
                continue  # a blank password field keeps the stored one (it is never shown)
            take(name, spec, attr)
        if "provider_id" in fields:
            take("provider_id", ACCOUNT_PARAMS["ProviderId"][1], "provider_id")
        if "voicemail_active" in fields:
            take("voicemail_active", ACCOUNT_PARAMS["VoiceMailActive"][1], "voicemail_active")

        new_ipui: Ipui | None = None
        if fields.get("ipui", "").strip():
            try:
                new_ipui = Ipui.parse(fields["ipui"])
            except IdentityError as err:
                errors["ipui"] = str(err)
            else:
                if handset.ipui is not None:
                    # Read-only once set (base-models.md §5): the same value again is no change.
                    if new_ipui != handset.ipui:
                        errors["ipui"] = "the IPUI is read-only once set"
                    new_ipui = None
                elif (other := self._store.handset(new_ipui)) is not None:
                    errors["ipui"] = f"IPUI {new_ipui} is already handset {other.index}"

        pin: str | bool | None = False  # False: unchanged
        if "dect_ac" in fields:
            text = fields["dect_ac"].strip()
            if text == "":
                pin = None if handset.dect_ac is not None else False
            else:
                value, problem = _validate(DECT_AC, text)
                if problem:
                    errors["dect_ac"] = f"authentication code: {problem}"
                elif value != handset.dect_ac:
                    pin = value

        reg_action = fields.get("reg_action", "")
        if reg_action not in REG_ACTIONS:
            errors["reg_action"] = f'"{reg_action}" is not one of ToReg, ToDeReg'
        elif reg_action == "ToReg" and handset.reg_status in (RegStatus.IN_REG, RegStatus.REGISTERED):
            errors["reg_action"] = f"the handset is already {handset.reg_status.value}; de-register it first"

        fks: bool | None = None
        if "feature_key_sync" in fields:
            wanted = _YES_NO.get(fields["feature_key_sync"].strip())
            if wanted is None:
                errors["feature_key_sync"] = "Feature key synchronization must be Yes (1) or No (0)"
            elif wanted != account.feature_key_sync_active:
                problem = self._fks_refusal(wanted)
                if problem:
                    errors["feature_key_sync"] = problem
                else:
                    fks = wanted

        if errors:
            summary = "; ".join(f"{name}: {problem}" for name, problem in errors.items())
            raise WebInputError(f"not saved: {summary}", fields=errors)

        if reg_action == "ToDeReg":
            # De-registering also deletes the handset's account settings [fact, base-models.md §3].
            self._store.remove_handset(handset.index)
            self._changed(Change(kind=ChangeKind.HANDSET_REMOVED, index=handset.index, ipui=handset.ipui))
            return None

        changed: list[str] = []
        with self._store.transaction():
            if new_ipui is not None:
                self._store.bind_ipui(handset.index, new_ipui)
                changed.append("ipui")
            if pin is not False:
                self._store.set_dect_ac(handset.index, pin if isinstance(pin, str) else None)
                changed.append("dect_ac")
            if reg_action == "ToReg":
                self._store.set_reg_status(handset.index, RegStatus.TO_REG)
                changed.append("reg_status")
            if fks is not None:
                changes["feature_key_sync_active"] = fks
            if changes:
                self._store.put_account(handset.index, replace(account, **changes))
                changed.extend(changes)
        ipui = new_ipui or handset.ipui
        if changed:
            account_fields = tuple(f for f in changed if f != "feature_key_sync_active")
            if account_fields:
                self._changed(
                    Change(kind=ChangeKind.HANDSET, index=handset.index, ipui=ipui, fields=account_fields)
                )
            if fks is not None:
                self._changed(
                    Change(kind=ChangeKind.FEATURE_KEY_SYNC, index=handset.index, ipui=ipui, value=fks)
                )
        return self.handset_row(str(handset.index))

    def _fks_refusal(self, wanted: bool) -> str | None:
        """Why FKS cannot be switched on here (the gating rule), or None.

        Switching it off is always allowed [choice]: it never makes a configuration worse.
        """
        if not wanted:
            return None
        base = base_verdict(self._profile, internal_telephony=self._store.internal_telephony)
        if base.supported:
            return None
        return f"Feature key synchronization cannot be enabled: not supported while {base.reason}"

    def set_feature_key_sync(self, ref: str, active: bool) -> None:
        handset = self._find(ref)
        problem = self._fks_refusal(active)
        if problem:
            raise WebInputError(problem, fields={"feature_key_sync": problem})
        account = self._store.account(handset.index) or Account()
        if account.feature_key_sync_active == active:
            return
        self._store.put_account(handset.index, replace(account, feature_key_sync_active=active))
        self._changed(
            Change(kind=ChangeKind.FEATURE_KEY_SYNC, index=handset.index, ipui=handset.ipui, value=active)
        )

    def _parse(self, data: bytes, source: str) -> ProvisioningDoc | Diagnostic:
        try:
            return parse_provisioning(data, source=source)
        except ProvisioningSyntaxError as err:
            return err.diagnostic

    def check_provisioning(self, data: bytes, source: str) -> ProvisioningResult:
        doc = self._parse(data, source)
        if isinstance(doc, Diagnostic):
            return ProvisioningResult(source=source, diagnostics=(doc,), applied=False)
        found = lint(doc, self._profile, self._store.internal_telephony, handsets=self._store.handsets())
        return ProvisioningResult(source=source, diagnostics=tuple(found), applied=False)

    def apply_provisioning(self, data: bytes, source: str) -> ProvisioningResult:
        """Apply like the base's auto-configuration: items in error are skipped, the rest applied at once."""
        doc = self._parse(data, source)
        if isinstance(doc, Diagnostic):
            # Not well-formed XML (or an entity bomb): nothing from it applies (base-models.md §3).
            return ProvisioningResult(source=source, diagnostics=(doc,), applied=False)
        try:
            found = provisioning_apply(doc, self._store, self._profile)
        except (ConfigError, NvmError) as err:
            raise WebInputError(f"{source}: not applied: {err}") from None
        admin_lines = {item.line for item in doc.items if getattr(item, "name", "") == ADMIN_PASSWORD_PARAM}
        admin = bool(admin_lines - {d.line for d in found if d.is_error})
        self._changed(Change(kind=ChangeKind.PROVISIONING, value=source))
        if admin:
            self._changed(Change(kind=ChangeKind.ADMIN_PASSWORD))
        return ProvisioningResult(
            source=source, diagnostics=tuple(found), applied=True, admin_password_changed=admin
        )

    # --- virtual handsets: only a running base has them ----------------------------------------------

    def _not_running(self, what: str) -> NotRunningError:
        command = f"fksim serve --model {self._profile.id}"
        return NotRunningError(
            f"{what[0].upper()}{what[1:]} needs the running twin: start the base with `{command}`"
        )

    def handset_screen(self, ipui: Ipui) -> dict[str, Any]:
        raise self._not_running("the virtual handset display")

    def press_key(self, ipui: Ipui, key: str) -> dict[str, Any]:
        raise self._not_running("pressing handset keys")

    def recording(self) -> bool:
        return False

    def start_recording(self) -> None:
        raise self._not_running("recording a scenario")

    def stop_recording(self) -> str:
        raise self._not_running("recording a scenario")


if TYPE_CHECKING:
    # mypy checks that StoreBackend satisfies the WebBackend Protocol, signature by signature.
    def _conforms(backend: StoreBackend) -> WebBackend:
        return backend
