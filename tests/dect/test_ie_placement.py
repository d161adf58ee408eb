"""IEs only where the message allows them (issue 14 point 3): generated from the codec's own message tables,
every message type x IE x sending side either round-trips (the table allows it) or is refused on encode
and on decode with the IE named (and, on decode, the offset where it stands)."""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path

import pytest

from dect.codec import (
    IE_TYPES,
    MESSAGES,
    MessageType,
    Side,
    _encode_header,
    decode,
    encode,
    encode_ie,
    message,
)
from dect.errors import LocalProtocolError, RemoteProtocolError
from dect.ies import InformationElement

SIDES = (Side.PP, Side.FP)


def _examples() -> dict[type[InformationElement], InformationElement]:
    """One value of every IE type: the first golden vector of tests/dect/test_ies.py."""
    spec = importlib.util.spec_from_file_location("ie_vectors", Path(__file__).with_name("test_ies.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out: dict[type[InformationElement], InformationElement] = {}
    for _hex, ie in module.IE_GOLDEN:
        out.setdefault(type(ie), ie)
    return out


EXAMPLES = _examples()


def _mandatory(kind: MessageType, sender: Side) -> list[InformationElement]:
    column = 1 if sender is Side.PP else 2
    return [EXAMPLES[row[0]] for row in MESSAGES[kind].rows if row[column] == "M"]


def _cases() -> list[tuple[MessageType, Side, type[InformationElement], bool]]:
    cases = []
    for kind, sender, ie_type in itertools.product(MessageType, SIDES, IE_TYPES.values()):
        if sender not in MESSAGES[kind].senders:
            continue
        column = 1 if sender is Side.PP else 2
        row = next((r for r in MESSAGES[kind].rows if r[0] is ie_type), None)
        allowed = row is not None and row[column] is not None
        cases.append((kind, sender, ie_type, allowed))
    return cases


CASES = _cases()


def test_the_tables_allow_and_refuse_something_for_every_message() -> None:
    for kind in MessageType:
        outcomes = {allowed for k, _s, _t, allowed in CASES if k is kind}
        assert False in outcomes   # no message takes every IE


def test_signal_is_never_allowed_in_a_ciss_facility() -> None:
    from dect.ies import Signal

    assert [allowed for k, _s, t, allowed in CASES if k is MessageType.FACILITY and t is Signal] == [False, False]


@pytest.mark.parametrize(("kind", "sender", "ie_type", "allowed"), CASES,
                         ids=[f"{k.label}-{s.value}-{t.NAME}" for k, s, t, _a in CASES])
def test_each_ie_in_each_message_from_each_side(kind: MessageType, sender: Side,
                                                ie_type: type[InformationElement], allowed: bool) -> None:
    ie = EXAMPLES[ie_type]
    others = [m for m in _mandatory(kind, sender) if type(m) is not ie_type]
    msg = message(kind, *others, ie)   # in table order; an IE the table lacks goes last
    if allowed:
        wire = encode(msg, sender=sender)
        assert decode(wire, sender=sender) == msg
        return
    # Refused on encode, naming the IE ...
    with pytest.raises(LocalProtocolError) as info:
        encode(msg, sender=sender)
    assert info.value.ie == ie.NAME
    # ... and on decode, naming the IE and the offset where it stands.
    head = _encode_header(False, 0, kind) + b"".join(encode_ie(m) for m in others)
    with pytest.raises(RemoteProtocolError) as err:
        decode(head + encode_ie(ie), sender=sender)
    assert err.value.ie == ie.NAME and err.value.offset == len(head)


def test_a_real_bases_facility_with_escape_then_events_notification_decodes() -> None:
    # EN 300 175-5 §6.3.3 / libdect's ciss_facility: EVENTS-NOTIFICATION (e.g. a message waiting
    # indication) comes after ESCAPE-TO-PROPRIETARY, and either side may send it.
    from dect.ies_var import EscapeToProprietary, EventsNotification

    escape = next(ie for ie in EXAMPLES.values() if isinstance(ie, EscapeToProprietary))
    events = EXAMPLES[EventsNotification]
    head = _encode_header(False, 0, MessageType.FACILITY)
    for sender in SIDES:
        decoded = decode(head + encode_ie(escape) + encode_ie(events), sender=sender)
        assert decoded.ies == (escape, events)
    with pytest.raises(RemoteProtocolError) as err:   # the other order is out of place
        decode(head + encode_ie(events) + encode_ie(escape), sender=Side.FP)
    assert err.value.ie == escape.NAME


@pytest.mark.parametrize(("kind", "ie_name"), [
    (MessageType.CC_SETUP, "CALLED-PARTY-NUMBER"), (MessageType.CC_SETUP, "CALLING-PARTY-NUMBER"),
    (MessageType.CC_INFO, "MULTI-KEYPAD"), (MessageType.CC_INFO, "CALLED-PARTY-NUMBER"),
    (MessageType.CC_INFO, "SENDING-COMPLETE")])
def test_ies_libdect_admits_from_either_side_decode_from_either_side(kind: MessageType, ie_name: str) -> None:
    """fksim sends these from one side only; a real peer may send them from the other (libdect's
    cc.c tables admit both), and the decoder is liberal there."""
    ie_type = next(t for t in IE_TYPES.values() if ie_name == t.NAME)
    assert {allowed for k, _s, t, allowed in CASES if k is kind and t is ie_type} == {True}
