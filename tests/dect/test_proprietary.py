"""This project's proprietary escape content (a choice; docs/dect-proprietary.md), vector by vector.

`7B len 81 00 02` = ESCAPE-TO-PROPRIETARY, discriminator type EMC, EMC 0002; then PIE id, length, data.
Feature data: `30 state` (DND), `22 type state rings target...` (call diversion, IA5 target).
"""

from __future__ import annotations

import pytest

from dect.codec import decode_ie, encode_ie
from dect.errors import RemoteProtocolError
from dect.ies_var import EscapeToProprietary
from dect.proprietary import (
    DiversionSetting,
    DiversionType,
    DndSetting,
    FeatureAck,
    FeatureId,
    FeatureRequest,
    FeatureState,
    Pie,
    Pin,
    decode_pies,
    describe_escape,
    encode_pies,
)

VECTORS: list[tuple[str, Pie]] = [
    ("7B 07 81 00 02 3E 02 30 01", FeatureRequest(setting=DndSetting(active=True))),
    ("7B 07 81 00 02 3E 02 30 00", FeatureRequest(setting=DndSetting(active=False))),
    ("7B 0D 81 00 02 3F 08 22 00 01 00 33 30 30 30",
     FeatureState(setting=DiversionSetting(diversion=DiversionType.ALL, active=True, target="3000"))),
    ("7B 0D 81 00 02 3E 08 22 01 01 00 33 30 30 31",
     FeatureRequest(setting=DiversionSetting(diversion=DiversionType.BUSY, active=True, target="3001"))),
    ("7B 0D 81 00 02 3E 08 22 02 01 04 33 30 30 32",
     FeatureRequest(setting=DiversionSetting(diversion=DiversionType.NO_ANSWER, active=True, target="3002", rings=4))),
    ("7B 09 81 00 02 3E 04 22 02 00 03",
     FeatureRequest(setting=DiversionSetting(diversion=DiversionType.NO_ANSWER, active=False, rings=3))),
    ("7B 06 81 00 02 59 01 30", FeatureAck(feature=FeatureId.DND)),
    ("7B 07 81 00 02 59 02 22 01", FeatureAck(feature=FeatureId.CALL_DIVERSION, diversion=DiversionType.BUSY)),
    ("7B 09 81 00 02 50 04 30 30 30 30", Pin(pin="0000")),
]  # fmt: skip


@pytest.mark.parametrize(("hex_", "pie"), VECTORS, ids=[h for h, _ in VECTORS])
def test_vectors_round_trip(hex_: str, pie: Pie) -> None:
    data = bytes.fromhex(hex_)
    assert encode_ie(encode_pies(pie)) == data
    escape = decode_ie(data)
    assert isinstance(escape, EscapeToProprietary)
    assert decode_pies(escape) == (pie,)


@pytest.mark.parametrize(("hex_", "pie"), VECTORS, ids=[h for h, _ in VECTORS])
def test_truncated_and_extended_contents_fail(hex_: str, pie: Pie) -> None:
    content = bytes.fromhex(hex_)[5:]  # after 7B len 81 00 02
    for end in range(len(content)):
        if end == 0:
            with pytest.raises(RemoteProtocolError, match="no proprietary element"):
                decode_pies(EscapeToProprietary(data=b""))
            continue
        with pytest.raises(RemoteProtocolError) as caught:
            decode_pies(EscapeToProprietary(data=content[:end]))
        assert caught.value.reason == 0x04
    with pytest.raises(RemoteProtocolError):
        decode_pies(EscapeToProprietary(data=content + b"\x3e"))


@pytest.mark.parametrize(
    "content",
    ["3E 02 31 01", "3E 02 30 02", "3E 04 22 03 01 00", "3E 04 22 00 01 05", "3E 05 22 00 01 00 C1", "77 00",
     "59 01 31", "50 02 31 32", "50 04 31 32 33 41"],
    ids=["feature 31", "state 2", "diversion type 3", "rings on CFA", "target not IA5", "PIE 77",
         "ack of 31", "PIN too short", "PIN not digits"],
)  # fmt: skip
def test_bad_contents(content: str) -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        decode_pies(EscapeToProprietary(data=bytes.fromhex(content)))
    assert caught.value.reason == 0x04


def test_other_emc_is_not_this_encoding() -> None:
    with pytest.raises(RemoteProtocolError, match="EMC 1234"):
        decode_pies(EscapeToProprietary(emc=0x1234, data=b"\x3e\x02\x30\x01"))
    assert describe_escape(EscapeToProprietary(emc=0x1234, data=b"\x01")) == {}


def test_describe() -> None:
    escape = encode_pies(
        FeatureState(
            setting=DiversionSetting(diversion=DiversionType.NO_ANSWER, active=True, target="3002", rings=4)
        ),
        FeatureAck(feature=FeatureId.CALL_DIVERSION, diversion=DiversionType.NO_ANSWER),
    )
    assert describe_escape(escape) == {
        "proprietary": [
            {"pie": "feature-state", "feature": "cfna", "active": True, "target": "3002", "rings": 4},
            {"pie": "ack", "feature": "call_diversion", "diversion": "no_answer"},
        ]
    }
