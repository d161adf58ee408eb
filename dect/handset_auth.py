"""The handset's side of key allocation and authentication (EN 300 175-7 §6.4; EN 300 444), sans I/O.

One responsibility: answer the base's MM procedures as a GAP handset does. KEY-ALLOCATE (while it asks
for access rights with a PIN): answer AUTHENTICATION-REQUEST with RAND-P and RES1 computed from the
PIN's authentication code (A11, A12), and take KS' (A21) as the new UAK once the base's
AUTHENTICATION-REPLY carries the right RES2 (A22) and the access rights are accepted. An
AUTHENTICATION-REQUEST of the base (when it locates): AUTHENTICATION-REPLY with RES1 from its UAK, or
AUTHENTICATION-REJECT when it has none. Every reply carries TI flag 1 in the base's transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
from collections.abc import Callable

from dect.codec import MessageType, NwkMessage, message
from dect.dsaa import a11, a12, a21, a22, authentication_code, b1
from dect.ies import RejectReasonCode
from dect.ies_auth import AllocationType, AuthKeyType, AuthType, Rand, Res, Rs
from dect.ies_var import RejectReason


def handset_random(seed: str) -> Callable[[int], bytes]:
    counter = itertools.count()
    return lambda n: hashlib.sha256(f"{seed}:{next(counter)}".encode()).digest()[:n]


class HandsetKeys:
    """The handset's UAK, and a key allocation in progress. RAND-P comes from `random`, made from `seed`
    when first needed (a fleet holds 20,000 of these; most never register again)."""

    __slots__ = ("_candidate", "_confirmed", "_random", "pin", "seed", "uak")

    def __init__(self, uak: bytes | None, seed: str) -> None:
        self.uak = uak
        self.pin: str | None = None          # the PIN typed for a registration under way
        self.seed = seed
        self._random: Callable[[int], bytes] | None = None
        self._candidate: tuple[bytes, bytes] | None = None   # (UAK to be, RES2 expected)
        self._confirmed: bytes | None = None

    def random(self, n: int) -> bytes:
        if self._random is None:
            self._random = handset_random(self.seed)
        return self._random(n)

    def answer(self, msg: NwkMessage) -> NwkMessage | None:
        """The reply to a message of the base's MM transaction (TI flag 0), or None."""
        kind = msg.message_type
        if kind is MessageType.KEY_ALLOCATE:
            return self._allocate(msg)
        if kind is MessageType.AUTHENTICATION_REPLY:
            res = msg.get(Res)
            if self._candidate is not None and res is not None and hmac.compare_digest(res.value,
                                                                                    self._candidate[1]):
                self._confirmed = self._candidate[0]
            self._candidate = None
            return None
        if kind is MessageType.AUTHENTICATION_REQUEST:
            rand_f, rs = msg.get(Rand), msg.get(Rs)
            if self.uak is None or rand_f is None or rs is None:
                reason = RejectReason(reason=RejectReasonCode.AUTHENTICATION_KEY_NOT_SUPPORTED)
                return message(MessageType.AUTHENTICATION_REJECT, reason, tv=msg.tv, ti_flag=True)
            res1 = a12(a11(b1(self.uak), rs.value), rand_f.value)[1]
            return message(MessageType.AUTHENTICATION_REPLY, Res(value=res1), tv=msg.tv, ti_flag=True)
        return None

    def _allocate(self, msg: NwkMessage) -> NwkMessage | None:
        rand_f, rs, allocation = msg.get(Rand), msg.get(Rs), msg.get(AllocationType)
        if self.pin is None or rand_f is None or rs is None or allocation is None:
            return None   # no registration of ours under way
        k = b1(authentication_code(self.pin))
        res1 = a12(a11(k, rs.value), rand_f.value)[1]
        rand_p = self.random(8)
        uak = a21(k, rs.value)
        self._candidate = (uak, a22(uak, rand_p))
        auth = AuthType(key_type=AuthKeyType.AUTHENTICATION_CODE, key_number=allocation.ac_number)
        return message(MessageType.AUTHENTICATION_REQUEST, auth, Rand(value=rand_p), Res(value=res1),
                       tv=msg.tv, ti_flag=True)

    def registered(self) -> None:
        """The access rights were accepted: the allocated key (if the base proved itself) is the UAK."""
        if self._confirmed is not None:
            self.uak = self._confirmed
        self._confirmed, self.pin = None, None
