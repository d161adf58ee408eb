"""DECT NWK codec throughput: the construct codec (dect.codec) against a hand-written `struct` codec.

Both codecs turn the same bytes into the same typed `NwkMessage` values and back, over a realistic mix
of what a DECT manager with 50 handsets sees (location, feature requests and indications, FAC calls).
The struct codec exists only here, as the baseline: it knows just the IEs of the mix and skips every
check the real codec makes (table order, presence, sender). Its output is compared once with the real
codec's to prove that both handle the same bytes.

The headline (`msgs_per_s`, `ratio`) runs on the mix of a fleet of 20,000 handsets (the fleet
benchmark's size): each handset's identity, targets and texts are its own, so the memoised IE codings
meet as many distinct values as they meet in the fleet, and the mix (240,000 messages) is larger than
any memo (benchmarks/README.md). Beside it: `warm_*`, the same codec on the 50-handset mix of one DECT
manager (every memo hits after the first pass), and `cold_*`, which clears the memo before every
message, so every IE goes through construct. One message = one encode + one decode.

    python benchmarks/dect_codec.py [--json] [--seconds N] [--handsets N]
"""

from __future__ import annotations

import argparse
import json
import random
import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dect.codec import _BY_CODE, MessageType, NwkMessage, clear_caches, decode, encode, message
from dect.identity import Ipui
from dect.ies import (
    BasicService,
    CallClass,
    InformationElement,
    ReleaseReason,
    ReleaseReasonCode,
    SendingComplete,
    Service,
    Signal,
    SignalValue,
)
from dect.ies_auth import AuthAlgorithm, AuthKeyType, AuthType, Rand, Res, Rs
from dect.ies_var import (
    EscapeToProprietary,
    FixedIdentity,
    FixedIdentityType,
    LocationArea,
    MultiDisplay,
    MultiKeypad,
    PortableIdentity,
)
from dect.proprietary import (
    DiversionSetting,
    DiversionType,
    DndSetting,
    FeatureAck,
    FeatureId,
    FeatureRequest,
    FeatureState,
    encode_pies,
)

PARK = FixedIdentity(bits=36, value=0x123456789)


#: Handsets of the fleet mix: the Virtual Integrator of benchmarks/fleet.py.
FLEET_HANDSETS = 20_000


def realistic_mix(handsets: int = 50, seed: int = 1) -> list[NwkMessage]:
    """The messages of a busy hour of `handsets` handsets, in a seeded random order: 50 are one
    DECT manager's, 20,000 a fleet's. Identities are spread as a fleet's are (several EMCs, PSNs
    far apart), and each handset diverts to its own number."""
    rng = random.Random(seed)
    out: list[NwkMessage] = []
    for n in range(handsets):
        pi = PortableIdentity.of(Ipui(emc=0x29E7 + n % 7, psn=(0x4A599 + n * 7919) % 0x100000))
        target = f"{30000 + n}"
        dnd = DndSetting(active=bool(n % 2))
        cfa = DiversionSetting(diversion=DiversionType.ALL, active=True, target=target)
        out += [
            message(MessageType.LOCATE_REQUEST, pi),
            # Every locate is authenticated with the UAK (issue 14): fresh RAND and RS each time.
            message(MessageType.AUTHENTICATION_REQUEST, AuthType(), Rand(value=rng.randbytes(8)),
                    Rs(value=rng.randbytes(8))),
            message(MessageType.AUTHENTICATION_REPLY, Res(value=rng.randbytes(4)), ti_flag=True),
            message(MessageType.LOCATE_ACCEPT, pi, LocationArea(level=0), ti_flag=True),
            message(MessageType.CISS_REGISTER, pi, encode_pies(FeatureRequest(setting=dnd))),
            message(
                MessageType.CISS_RELEASE_COM, encode_pies(FeatureAck(feature=FeatureId.DND)), ti_flag=True
            ),
            message(MessageType.LCE_PAGE_RESPONSE, pi, PARK),
            message(MessageType.CISS_REGISTER, pi, tv=2),
            message(
                MessageType.FACILITY,
                MultiDisplay(text="Do not disturb\nOn"),
                encode_pies(FeatureState(setting=dnd)),
                tv=2,
            ),
            message(MessageType.CISS_RELEASE_COM, tv=2, ti_flag=True),
            message(MessageType.CISS_REGISTER, pi, encode_pies(FeatureRequest(setting=cfa)), tv=1),
            message(
                MessageType.FACILITY,
                MultiDisplay(text=f"Call divert\n{target}"),
                encode_pies(FeatureState(setting=cfa)),
                tv=1,
            ),
            message(
                MessageType.CC_SETUP, pi, PARK, BasicService(), MultiKeypad(keys="*78"), SendingComplete()
            ),
            message(MessageType.CC_CALL_PROC, ti_flag=True),
            message(
                MessageType.CC_CONNECT,
                MultiDisplay(text="Code accepted"),
                Signal(value=SignalValue.CONFIRM_TONE_ON),
                ti_flag=True,
            ),
            message(MessageType.CC_RELEASE, ReleaseReason(reason=ReleaseReasonCode.NORMAL)),
            message(MessageType.CC_RELEASE_COM, ReleaseReason(reason=ReleaseReasonCode.NORMAL), ti_flag=True),
        ]
    rng.shuffle(out)
    return out


# ------------------------------------------------------------------- the hand-written struct codec

_B = struct.Struct(">B")
_BB = struct.Struct(">BB")
_BH = struct.Struct(">BH")


def _s_decode_ie(ie_id: int, content: bytes) -> InformationElement:
    if ie_id == 0x05:
        return PortableIdentity.of(Ipui.from_ipei(int.from_bytes(content[2:], "big")))
    if ie_id == 0x06:
        _type, bits = _BB.unpack_from(content)
        bits &= 0x7F
        size = len(content) - 2
        return FixedIdentity(
            identity_type=FixedIdentityType(_type & 0x7F), bits=bits,
            value=int.from_bytes(content[2:], "big") >> (size * 8 - bits),
        )  # fmt: skip
    if ie_id == 0x07:
        return LocationArea(level=content[0] & 0x3F)
    if ie_id == 0x28:
        return MultiDisplay(text=content.decode("ascii"))
    if ie_id == 0x2C:
        return MultiKeypad(keys=content.decode("ascii"))
    if ie_id == 0x7B:
        _disc, emc = _BH.unpack_from(content)
        return EscapeToProprietary(emc=emc, data=content[3:])
    if ie_id == 0x0A:
        return AuthType(algorithm=AuthAlgorithm(content[0]), key_type=AuthKeyType(content[1] >> 4),
                        key_number=content[1] & 0x0F, flags=content[2] & 0xF0,
                        cipher_key_number=content[2] & 0x0F)
    if ie_id == 0x0C:
        return Rand(value=content)
    if ie_id == 0x0D:
        return Res(value=content)
    if ie_id == 0x0E:
        return Rs(value=content)
    if ie_id == 0xA1:
        return SendingComplete()
    if ie_id == 0xE0:
        return BasicService(call_class=CallClass(content[0] >> 4), service=Service(content[0] & 0x0F))
    if ie_id == 0xE2:
        return ReleaseReason(reason=ReleaseReasonCode(content[0]))
    if ie_id == 0xE4:
        return Signal(value=SignalValue(content[0]))
    raise ValueError(f"struct codec: no IE {ie_id:#04x}")


def struct_decode(data: bytes) -> NwkMessage:
    octet1, octet2 = _BB.unpack_from(data)
    kind = _BY_CODE[(octet1 & 0x0F, octet2)]
    ies = []
    i, end = 2, len(data)
    while i < end:
        ie_id = data[i]
        if ie_id & 0x80:
            if ie_id & 0xF0 == 0xE0:
                ies.append(_s_decode_ie(ie_id, data[i + 1 : i + 2]))
                i += 2
            else:
                ies.append(_s_decode_ie(ie_id, b""))
                i += 1
        else:
            length = data[i + 1]
            ies.append(_s_decode_ie(ie_id, data[i + 2 : i + 2 + length]))
            i += 2 + length
    return NwkMessage(message_type=kind, tv=(octet1 >> 4) & 7, ti_flag=bool(octet1 & 0x80), ies=tuple(ies))


def _s_encode_ie(ie: InformationElement) -> bytes:
    if isinstance(ie, PortableIdentity):
        assert ie.ipui is not None
        return b"\x05\x07\x80\xa8" + ie.ipui.ipei.to_bytes(5, "big")
    if isinstance(ie, FixedIdentity):
        size = (ie.bits + 7) // 8
        return (
            _BB.pack(0x06, size + 2) + _BB.pack(0x80 | ie.identity_type, 0x80 | ie.bits)
            + (ie.value << (size * 8 - ie.bits)).to_bytes(size, "big")
        )  # fmt: skip
    if isinstance(ie, LocationArea):
        return _BB.pack(0x07, 1) + _B.pack(0x40 | ie.level)  # LA level included (bit 7)
    if isinstance(ie, MultiDisplay | MultiKeypad):
        text = (ie.text if isinstance(ie, MultiDisplay) else ie.keys).encode("ascii")
        return _BB.pack(ie.IE_ID, len(text)) + text
    if isinstance(ie, EscapeToProprietary):
        return _BB.pack(0x7B, len(ie.data) + 3) + _BH.pack(0x81, ie.emc) + ie.data
    if isinstance(ie, AuthType):
        return bytes((0x0A, 3, ie.algorithm, ie.key_type << 4 | ie.key_number,
                      ie.flags | ie.cipher_key_number))
    if isinstance(ie, Rand | Res | Rs):
        return _BB.pack(ie.IE_ID, len(ie.value)) + ie.value
    if isinstance(ie, SendingComplete):
        return b"\xa1"
    if isinstance(ie, BasicService):
        return _BB.pack(0xE0, ie.call_class << 4 | ie.service)
    if isinstance(ie, ReleaseReason):
        return _BB.pack(0xE2, ie.reason)
    if isinstance(ie, Signal):
        return _BB.pack(0xE4, ie.value)
    raise ValueError(f"struct codec: no IE {ie.NAME}")


def struct_encode(msg: NwkMessage) -> bytes:
    kind = msg.message_type
    head = _BB.pack((0x80 if msg.ti_flag else 0) | msg.tv << 4 | kind.pd, kind.code)
    return head + b"".join(_s_encode_ie(ie) for ie in msg.ies)


# --------------------------------------------------------------------------------------- timing


def rate(step: Callable[[NwkMessage], None], mix: list[NwkMessage], seconds: float) -> float:
    """Messages per second (encode + decode each) over whole passes of the mix for about `seconds`."""
    done, start = 0, time.perf_counter()
    while True:
        for msg in mix:
            step(msg)
        done += len(mix)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--json", action="store_true", help='print {"msgs_per_s": …, "struct_msgs_per_s": …, "ratio": …}'
    )
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement (default 2)")
    parser.add_argument("--handsets", type=int, default=FLEET_HANDSETS,
                        help=f"handsets of the headline mix (default {FLEET_HANDSETS:,})")
    args = parser.parse_args()
    mix = realistic_mix(args.handsets)
    small = realistic_mix()
    for msg in small + mix[:2000]:  # both codecs handle exactly the same bytes and values
        wire = encode(msg)
        assert struct_encode(msg) == wire and struct_decode(wire) == decode(wire) == msg

    def construct_step(msg: NwkMessage) -> None:
        decode(encode(msg))

    def cold_step(msg: NwkMessage) -> None:
        clear_caches()
        decode(encode(msg))

    def struct_step(msg: NwkMessage) -> None:
        struct_decode(struct_encode(msg))

    clear_caches()
    fleet = rate(construct_step, mix, args.seconds)
    baseline = rate(struct_step, mix, args.seconds)
    clear_caches()
    warm = rate(construct_step, small, args.seconds / 2)
    warm_baseline = rate(struct_step, small, args.seconds / 2)
    cold = rate(cold_step, small, args.seconds / 2)
    result = {
        "msgs_per_s": round(fleet),
        "struct_msgs_per_s": round(baseline),
        "ratio": round(baseline / fleet, 2),
        "warm_msgs_per_s": round(warm),
        "warm_ratio": round(warm_baseline / warm, 2),
        "cold_msgs_per_s": round(cold),
        "cold_ratio": round(warm_baseline / cold, 2),
        "mix_messages": len(mix),
        "handsets": args.handsets,
    }
    if args.json:
        print(json.dumps(result))
        return
    print("DECT NWK codec, encode + decode each message")
    print(f"  fleet mix ({args.handsets:,} handsets, {len(mix):,} messages):")
    print(f"    construct codec:              {result['msgs_per_s']:>9,} msgs/s")
    print(f"    hand-written struct codec:    {result['struct_msgs_per_s']:>9,} msgs/s")
    print(f"    struct / construct (headline): {result['ratio']}x; target <= 1.8x")
    print(f"  one DECT manager's mix ({len(small)} messages, every memo hits): "
          f"{result['warm_msgs_per_s']:,} msgs/s, {result['warm_ratio']}x")
    print(f"  cold (memo cleared before every message): {result['cold_msgs_per_s']:,} msgs/s, "
          f"{result['cold_ratio']}x")


if __name__ == "__main__":
    main()
