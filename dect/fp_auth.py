"""The base's side of authentication and key allocation (EN 300 175-5 §13.3, §13.6; EN 300 175-7 §6.4;
EN 300 444 GAP), sans I/O.

One responsibility: run the MM procedures the base starts on a handset's behalf and say how they ended.

- **Key allocation** when a handset asks for access rights (ACCESS-RIGHTS-REQUEST): the base sends
  KEY-ALLOCATE (ALLOCATION-TYPE DSAA, RAND-F, RS) in an MM transaction of its own (TI flag 0, value 0);
  the handset answers AUTHENTICATION-REQUEST (AUTH-TYPE authentication code, RAND-P, RES1 = A12 of
  A11 of the key K derived from the PIN); a right RES1 proves the handset knows the PIN, and the base
  answers AUTHENTICATION-REPLY (RES2 = A22 of A21 of K with RAND-P). Both then hold the UAK (KS' of
  A21). A wrong RES1 gets AUTHENTICATION-REJECT, and the access rights are refused "authentication
  failed" [choice: key allocation inside the access rights procedure, so a wrong PIN fails the
  registration itself].
- **Authentication of a handset that locates** (LOCATE-REQUEST) when the base holds its UAK: the base
  sends AUTHENTICATION-REQUEST (AUTH-TYPE UAK, RAND-F, RS); the handset answers AUTHENTICATION-REPLY
  (RES1 with K = B1(UAK)); a wrong or missing answer refuses the location.

The random values come from the `random` callable the firmware passes (seeded in the simulation).
Supervision: an answer not received within `MM_AUTH` seconds fails the procedure.
"""

from __future__ import annotations

import enum
import hmac
from collections.abc import Callable
from dataclasses import dataclass

from dect.codec import MessageType, NwkMessage
from dect.dsaa import a11, a12, a21, a22, authentication_code, b1
from dect.events import Link
from dect.identity import Ipui
from dect.ies_auth import AllocationType, AuthKeyType, AuthType, Rand, Res, Rs
from dect.ies_var import RejectReason

#: Seconds the base waits for the handset's answer in an authentication (EN 300 175-5 Annex A
#: <MM_auth.1>, 10 s [likely]).
MM_AUTH = 10.0
#: The base's MM transaction value for the procedures it starts (one at a time per link).
FP_MM_TV = 0


class Procedure(enum.Enum):
    KEY_ALLOCATION = "key allocation"
    LOCATE = "authentication at location registration"


@dataclass
class Pending:
    """One procedure under way on a link, and the handset's transaction that waits for its end."""

    procedure: Procedure
    ipui: Ipui
    pp_tv: int
    k: bytes
    rand_f: bytes
    rs: bytes
    deadline: float
    pin: str | None = None


@dataclass(frozen=True)
class Outcome:
    """How a procedure ended: `ok`, the UAK a key allocation produced, why it failed."""

    pending: Pending
    ok: bool
    uak: bytes | None = None
    why: str = ""


class FpAuthentication:
    def __init__(self, random: Callable[[int], bytes]) -> None:
        self.random = random
        self.pending: dict[Link, Pending] = {}

    def start_key_allocation(self, link: Link, ipui: Ipui, pp_tv: int, pin: str, now: float) -> NwkMessage:
        """KEY-ALLOCATE for a handset asking for access rights, keyed with the PIN the base expects."""
        rand_f, rs = self.random(8), self.random(8)
        self.pending[link] = Pending(procedure=Procedure.KEY_ALLOCATION, ipui=ipui, pp_tv=pp_tv,
                                     k=b1(authentication_code(pin)), rand_f=rand_f, rs=rs,
                                     deadline=now + MM_AUTH, pin=pin)
        return NwkMessage(message_type=MessageType.KEY_ALLOCATE, tv=FP_MM_TV, ti_flag=False,
                          ies=(AllocationType(), Rand(value=rand_f), Rs(value=rs)))

    def start_locate(self, link: Link, ipui: Ipui, pp_tv: int, uak: bytes, now: float) -> NwkMessage:
        """AUTHENTICATION-REQUEST for a handset that locates, keyed with its UAK."""
        rand_f, rs = self.random(8), self.random(8)
        self.pending[link] = Pending(procedure=Procedure.LOCATE, ipui=ipui, pp_tv=pp_tv, k=b1(uak),
                                     rand_f=rand_f, rs=rs, deadline=now + MM_AUTH)
        return NwkMessage(message_type=MessageType.AUTHENTICATION_REQUEST, tv=FP_MM_TV, ti_flag=False,
                          ies=(AuthType(key_type=AuthKeyType.USER_AUTHENTICATION_KEY), Rand(value=rand_f),
                               Rs(value=rs)))

    def busy(self, link: Link) -> bool:
        return link in self.pending

    def receive(self, link: Link, msg: NwkMessage) -> tuple[Outcome, NwkMessage | None] | None:
        """The handset's answer in the base's MM transaction: the outcome and what to send (a reply or a
        reject); None when the message is not one of these."""
        pending = self.pending.get(link)
        if pending is None or msg.tv != FP_MM_TV:
            return None
        expected = a12(a11(pending.k, pending.rs), pending.rand_f)[1]
        res = msg.get(Res)
        kind = msg.message_type
        if kind is MessageType.AUTHENTICATION_REJECT:
            del self.pending[link]
            return Outcome(pending=pending, ok=False, why="the handset refused to authenticate"), None
        if pending.procedure is Procedure.KEY_ALLOCATION and kind is MessageType.AUTHENTICATION_REQUEST:
            del self.pending[link]
            rand_p = msg.get(Rand)
            if res is None or rand_p is None or not hmac.compare_digest(res.value, expected):
                return Outcome(pending=pending, ok=False, why="wrong RES1: not the PIN"), _reject()
            uak = a21(pending.k, pending.rs)
            reply = NwkMessage(message_type=MessageType.AUTHENTICATION_REPLY, tv=FP_MM_TV, ti_flag=False,
                               ies=(Res(value=a22(uak, rand_p.value)),))
            return Outcome(pending=pending, ok=True, uak=uak), reply
        if pending.procedure is Procedure.LOCATE and kind is MessageType.AUTHENTICATION_REPLY:
            del self.pending[link]
            if res is None or not hmac.compare_digest(res.value, expected):
                return Outcome(pending=pending, ok=False, why="wrong RES1: not the handset's UAK"), _reject()
            return Outcome(pending=pending, ok=True), None
        return None

    def next_deadline(self) -> float | None:
        return min((p.deadline for p in self.pending.values()), default=None)

    def expired(self, now: float) -> list[tuple[Link, Outcome]]:
        out = []
        for link, pending in sorted(self.pending.items()):
            if pending.deadline <= now:
                del self.pending[link]
                out.append((link, Outcome(pending=pending, ok=False, why="no answer (MM_auth.1)")))
        return out


def _reject() -> NwkMessage:
    from dect.ies import RejectReasonCode

    return NwkMessage(message_type=MessageType.AUTHENTICATION_REJECT, tv=FP_MM_TV, ti_flag=False,
                      ies=(RejectReason(reason=RejectReasonCode.AUTHENTICATION_FAILED),))
