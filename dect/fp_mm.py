"""The base's mobility management for one DECT endpoint: location registration and access rights, each
with its authentication (EN 300 175-5 §13.3-§13.6; the procedures themselves in `dect.fp_auth`).

One responsibility: answer LOCATE-REQUEST and ACCESS-RIGHTS-REQUEST as the `AccessPolicy` of the
firmware says, after authenticating the handset:

- LOCATE-REQUEST of a registered handset whose UAK the base holds: authentication with the UAK first;
  LOCATE-ACCEPT when it answers right, LOCATE-REJECT "authentication failed" (10) otherwise. A
  registered handset without a UAK (registered before keys were kept, or by provisioning alone) is
  accepted at once; an unknown one gets LOCATE-REJECT "IPUI unknown" (02).
- ACCESS-RIGHTS-REQUEST: key allocation with the PIN the base expects for that handset (its slot's
  `DECT_AC`, else the system PIN); ACCESS-RIGHTS-ACCEPT once the handset proved the PIN and the policy
  recorded it (the UAK kept), ACCESS-RIGHTS-REJECT "authentication failed" (10) for a wrong PIN, or the
  policy's reason (06 IPUI not accepted, 2F insufficient memory).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable
from typing import Protocol

from dect.codec import MessageType, NwkMessage
from dect.events import (
    AccessRightsGranted,
    AccessRightsRejected,
    BaseEvent,
    HandsetLocated,
    Link,
    LocationRejected,
)
from dect.fp_auth import FpAuthentication, Outcome, Procedure
from dect.identity import Ipui
from dect.ies import InformationElement, RejectReasonCode
from dect.ies_var import FixedIdentity, LocationArea, PortableIdentity, RejectReason


class Policy(Protocol):
    """What these procedures ask of the firmware (dect.endpoint.AccessPolicy)."""

    def is_registered(self, ipui: Ipui) -> bool: ...

    def grant_access(self, ipui: Ipui, pin: str | None) -> RejectReasonCode | None: ...

    def authentication_code(self, ipui: Ipui) -> str | None: ...

    def uak(self, ipui: Ipui) -> bytes | None: ...

    def store_uak(self, ipui: Ipui, uak: bytes) -> None: ...


class Endpoint(Protocol):
    """What these procedures use of the endpoint that owns them (dect.endpoint.DectEndpoint)."""

    policy: Policy
    location_area: LocationArea
    fixed_identity: FixedIdentity

    def send(self, link: Link, msg: NwkMessage) -> None: ...

    def reply(self, link: Link, tv: int, kind: MessageType, *ies: InformationElement | None) -> None: ...


def counter_random(seed: str) -> Callable[[int], bytes]:
    """Deterministic octets (SHA-256 of the seed and a counter) for tests and the simulation; the live
    twin passes the operating system's randomness instead."""
    counter = itertools.count()

    def draw(n: int) -> bytes:
        return hashlib.sha256(f"{seed}:{next(counter)}".encode()).digest()[:n]

    return draw


class MobilityManagement:
    def __init__(self, endpoint: Endpoint, random: Callable[[int], bytes]) -> None:
        self.endpoint = endpoint
        self.auth = FpAuthentication(random)

    def locate(self, link: Link, msg: NwkMessage, now: float) -> list[BaseEvent]:
        ep = self.endpoint
        identity = msg.get(PortableIdentity)
        assert identity is not None  # mandatory, checked by the codec
        if identity.ipui is None:
            unknown = RejectReason(reason=RejectReasonCode.TPUI_UNKNOWN)
            ep.reply(link, msg.tv, MessageType.LOCATE_REJECT, unknown)
            return []
        if not ep.policy.is_registered(identity.ipui):
            reject = RejectReasonCode.IPUI_UNKNOWN
            ep.reply(link, msg.tv, MessageType.LOCATE_REJECT, RejectReason(reason=reject))
            return [LocationRejected(link=link, ipui=identity.ipui, reason=reject)]
        uak = ep.policy.uak(identity.ipui)
        if uak is None:
            ep.reply(link, msg.tv, MessageType.LOCATE_ACCEPT, identity, ep.location_area)
            return [HandsetLocated(link=link, ipui=identity.ipui)]
        ep.send(link, self.auth.start_locate(link, identity.ipui, msg.tv, uak, now))
        return []

    def access_rights(self, link: Link, msg: NwkMessage, now: float) -> list[BaseEvent]:
        ep = self.endpoint
        identity = msg.get(PortableIdentity)
        assert identity is not None
        if identity.ipui is None:
            ep.reply(link, msg.tv, MessageType.ACCESS_RIGHTS_REJECT,
                     RejectReason(reason=RejectReasonCode.TPUI_UNKNOWN))
            return []
        pin = ep.policy.authentication_code(identity.ipui)
        if pin is None:
            reject = ep.policy.grant_access(identity.ipui, None) or RejectReasonCode.IPUI_NOT_ACCEPTED
            ep.reply(link, msg.tv, MessageType.ACCESS_RIGHTS_REJECT, RejectReason(reason=reject))
            return [AccessRightsRejected(link=link, ipui=identity.ipui, reason=reject)]
        ep.send(link, self.auth.start_key_allocation(link, identity.ipui, msg.tv, pin, now))
        return []

    def answered(self, link: Link, msg: NwkMessage) -> list[BaseEvent] | None:
        """The handset's answer in an authentication the base started; None: not one."""
        result = self.auth.receive(link, msg)
        if result is None:
            return None
        outcome, to_send = result
        if to_send is not None:
            self.endpoint.send(link, to_send)
        return self._finish(link, outcome)

    def handle_timer(self, now: float) -> list[BaseEvent]:
        events: list[BaseEvent] = []
        for link, outcome in self.auth.expired(now):
            events += self._finish(link, outcome)
        return events

    def _finish(self, link: Link, outcome: Outcome) -> list[BaseEvent]:
        ep = self.endpoint
        pending = outcome.pending
        ipui = pending.ipui
        identity = PortableIdentity.of(ipui)
        failed = RejectReasonCode.AUTHENTICATION_FAILED
        if pending.procedure is Procedure.LOCATE:
            if outcome.ok:
                ep.reply(link, pending.pp_tv, MessageType.LOCATE_ACCEPT, identity, ep.location_area)
                return [HandsetLocated(link=link, ipui=ipui)]
            ep.reply(link, pending.pp_tv, MessageType.LOCATE_REJECT, RejectReason(reason=failed))
            return [LocationRejected(link=link, ipui=ipui, reason=failed)]
        reject = ep.policy.grant_access(ipui, pending.pin) if outcome.ok else failed
        if reject is None:
            assert outcome.uak is not None
            ep.policy.store_uak(ipui, outcome.uak)
            ep.reply(link, pending.pp_tv, MessageType.ACCESS_RIGHTS_ACCEPT, identity, ep.fixed_identity)
            return [AccessRightsGranted(link=link, ipui=ipui)]
        ep.reply(link, pending.pp_tv, MessageType.ACCESS_RIGHTS_REJECT, RejectReason(reason=reject))
        return [AccessRightsRejected(link=link, ipui=ipui, reason=reject)]
