"""The live twin's event log: one line per thing a base's syslog would say, in text or JSON.

One responsibility: turn what the running base does into log records on the `fksim.serve` logger.
`EventLog.watch(system, now)` is called after every step of the twin; it compares each handset
account's registration, subscription and feature state with what it saw last and logs the changes
(registration answered or failed with its status, subscription active or terminated with its
reason, features applied from a NOTIFY or kept by the base, handset requests and their outcome);
`sent(data)` logs the requests the base sends (REGISTER, SUBSCRIBE, INVITE) at debug level. Levels:
`debug` every request sent and DECT request, `info` state changes, `warning` failures and a handset
whose account cannot register, `error` for what stops the base. `--log-format json` writes one JSON
object per line: `time` (UTC, ISO 8601), `level`, `event`, and the event's fields.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import dataclass
from typing import Any, TextIO

from dect.codec import MessageType, Side, decode
from dect.errors import DectError
from dect.identity import Ipui
from dect.ies import ReleaseReason, ReleaseReasonCode
from dect.ies_var import EscapeToProprietary, MultiKeypad
from dect.proprietary import DndSetting, FeatureRequest, FeatureSetting, decode_pies
from firmware.lines import Line
from firmware.system import BaseSystem
from sip.state import FeatureState

LOGGER = "fksim.serve"
LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("text", "json")


class _Formatter(logging.Formatter):
    def __init__(self, as_json: bool) -> None:
        super().__init__()
        self.as_json = as_json

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"
        fields: dict[str, Any] = getattr(record, "fields", {})
        event = getattr(record, "event", "log")
        if self.as_json:
            return json.dumps({"time": stamp, "level": record.levelname.lower(), "event": event, **fields,
                               "message": record.getMessage()}, ensure_ascii=False, default=str)
        return f"{stamp} {record.levelname.lower():7} {event}: {record.getMessage()}"


def setup_logging(level: str = "info", fmt: str = "text", stream: TextIO | None = None) -> logging.Logger:
    """The `fksim.serve` logger writing to `stream` (stderr) at `level`, in `fmt`."""
    logger = logging.getLogger(LOGGER)
    logger.handlers.clear()
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(_Formatter(fmt == "json"))
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False
    return logger


def log(level: int, event: str, message: str, **fields: Any) -> None:
    logging.getLogger(LOGGER).log(level, message, extra={"event": event, "fields": fields})


@dataclass(frozen=True)
class _Seen:
    sip: str
    subscription: str
    fks: str
    state: FeatureState


def _features(state: FeatureState) -> str:
    data = state.as_json()
    parts = [f"dnd={'on' if data['dnd'] else 'off'}"]
    for name in ("cfa", "cfb", "cfna"):
        value = data[name]
        target = f":{value['to']}" if value["to"] else ""
        parts.append(f"{name}={'on' if value['active'] else 'off'}{target}")
    return " ".join(parts)


def _setting(setting: FeatureSetting) -> str:
    if isinstance(setting, DndSetting):
        return f"DND {'on' if setting.active else 'off'}"
    text = f"{setting.feature.upper()} {'on' if setting.active else 'off'}"
    if setting.active and setting.target:
        text += f" to {setting.target}"
    return text


class EventLog:
    """What changed since the last look, as log records."""

    def __init__(self) -> None:
        self._seen: dict[Ipui, _Seen] = {}
        self._warned: set[Ipui] = set()

    def sent(self, dm: int, data: bytes) -> None:
        """A datagram the base sent: its requests at debug level (a REGISTER is also `info`)."""
        logger = logging.getLogger(LOGGER)
        if data.startswith(b"SIP/2.0") or not logger.isEnabledFor(logging.INFO):
            return
        method = data.split(b" ", 1)[0].decode("ascii", "replace")
        if method == "REGISTER" or logger.isEnabledFor(logging.DEBUG):
            level = logging.INFO if method == "REGISTER" else logging.DEBUG
            target = data.split(b" ", 2)[1].decode("ascii", "replace") if data.count(b" ") >= 2 else ""
            log(level, "sip-sent", f"dm{dm}: {method} {target} sent", dm=dm, method=method, uri=target)

    def provisioning(self, source: str, errors: int, warnings: int) -> None:
        level = logging.WARNING if errors else logging.INFO
        log(level, "provisioning", f"{source} applied ({errors} error(s) skipped, {warnings} warning(s))",
            source=source, errors=errors, warnings=warnings)

    def accounts(self, system: BaseSystem) -> None:
        """Once at the start and after every change of the settings: the handsets that serve no
        account, and why (read from the NVM)."""
        for handset in system.store.handsets():
            if handset.ipui is not None and system.line_of(handset.ipui) is None:
                self._no_line(system, handset.ipui)

    def watch(self, system: BaseSystem) -> None:
        """After every step: the changes of the accounts being served (in memory, no NVM read)."""
        for manager in system.dms.values():
            for ipui, line in manager.lines.items():
                self._line(ipui, line)

    def _line(self, ipui: Ipui, line: Line) -> None:
        seen = _Seen(sip=line.sip_status, subscription=line.subscription_status, fks=line.fks.fks.value,
                     state=line.fks.state)
        before = self._seen.get(ipui)
        self._seen[ipui] = seen
        if before == seen:
            return
        user = line.account.user_name
        if before is None or before.sip != seen.sip:
            failed = seen.sip.startswith("failed")
            log(logging.WARNING if failed else logging.INFO, "registration",
                f"{user} (handset {ipui}): {seen.sip}", user=user, handset=str(ipui), status=seen.sip)
        if before is None or before.subscription != seen.subscription:
            bad = seen.subscription.startswith(("failed", "terminated"))
            log(logging.WARNING if bad else logging.INFO, "subscription",
                f"{user} (handset {ipui}): as-feature-event {seen.subscription}", user=user,
                handset=str(ipui), status=seen.subscription)
        if before is None or before.fks != seen.fks:
            log(logging.INFO, "fks", f"{user} (handset {ipui}): FKS {seen.fks}", user=user,
                handset=str(ipui), fks=seen.fks)
        if before is not None and before.state != seen.state:
            where = "from the server" if seen.fks != "local" else "kept by the base"
            log(logging.INFO, "features", f"{user} (handset {ipui}): {_features(seen.state)} ({where})",
                user=user, handset=str(ipui), features=seen.state.as_json(), source=where)

    def handset_sent(self, ipui: Ipui, data: bytes) -> None:
        """A handset's request on the air: a feature change from its menu, a dialled code."""
        if not logging.getLogger(LOGGER).isEnabledFor(logging.INFO):
            return
        try:
            msg = decode(data, sender=Side.PP)
        except DectError:
            return   # the endpoint answers and reports it
        if msg.message_type is MessageType.CISS_REGISTER:
            escape = msg.get(EscapeToProprietary)
            for pie in decode_pies(escape) if escape else []:
                if isinstance(pie, FeatureRequest):
                    text = _setting(pie.setting)
                    log(logging.INFO, "handset-request", f"handset {ipui} asks: {text}", handset=str(ipui),
                        request=text)
        elif msg.message_type is MessageType.CC_SETUP:
            keypad = msg.get(MultiKeypad)
            if keypad is not None:
                log(logging.INFO, "handset-request", f"handset {ipui} dials {keypad.keys}", handset=str(ipui),
                    request=f"dial {keypad.keys}")

    def base_sent(self, ipui: Ipui, data: bytes) -> None:
        """The base's answer to a handset's request: taken on, or refused with its reason."""
        if not logging.getLogger(LOGGER).isEnabledFor(logging.INFO):
            return
        try:
            msg = decode(data, sender=Side.FP)
        except DectError:
            return
        if msg.message_type not in (MessageType.CISS_RELEASE_COM, MessageType.CC_CONNECT,
                                    MessageType.CC_RELEASE_COM) or not msg.ti_flag:
            return
        reason = msg.get(ReleaseReason)
        if reason is not None and reason.reason is not ReleaseReasonCode.NORMAL:
            why = reason.reason.name.lower().replace("_", " ")
            log(logging.WARNING, "handset-request", f"handset {ipui}: request refused ({why})",
                handset=str(ipui), outcome="refused", reason=why)
        elif msg.message_type is not MessageType.CC_RELEASE_COM:
            what = "code accepted by the server" if msg.message_type is MessageType.CC_CONNECT \
                else "request taken on, waiting for the server"
            log(logging.INFO, "handset-request", f"handset {ipui}: {what}", handset=str(ipui),
                outcome="accepted")

    def _no_line(self, system: BaseSystem, ipui: Ipui) -> None:
        """A handset that serves no account: say why once (no account, FKS asked for without one)."""
        if ipui in self._warned:
            return
        account = system.store.account(ipui)
        reason = system.not_started.get(ipui)
        if account is None or not account.user_name:
            if account is not None and account.feature_key_sync_active:
                why = ("FeatureKeySyncActive=1 but no SIP account (SipAccount.<IPUI>.UserName is empty): "
                       "nothing registers and nothing is synchronised")
            else:
                why = "no SIP account: nothing registers"
        elif reason:
            why = f"account not started: {reason}"
        else:
            return
        self._warned.add(ipui)
        log(logging.WARNING, "account", f"handset {ipui}: {why}", handset=str(ipui), reason=why)


__all__ = ["FORMATS", "LEVELS", "LOGGER", "EventLog", "log", "setup_logging"]
