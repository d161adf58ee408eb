"""Review of incoming calls at the DECT manager (firmware/dect_manager.py routing, firmware/calls.py,
dect/fp_calls.py): requests for an INVITE the base refused at once, an INVITE for no account, a caller
number longer than a DECT information element holds. Driven with hand-written SIP from the server."""

from __future__ import annotations

from dect.codec import MessageType, Side, encode, message
from dect.identity import Ipui
from firmware.dect_manager import AirOut, SipOut
from scenarios.world.world import SERVER_ADDRESS, World
from sip.message import Request, Response, parse_message
from sip.sdp import MEDIA_TYPE, build_offer
from sip.state import FeatureState, Forwarding
from support.worldkit import sip

A = Ipui.parse("029e74a599")
OFFER = build_offer(address=SERVER_ADDRESS[0], session_id=1, version=1, port=4002, codecs=(8, 0))


def _world() -> World:
    world = World("N870", seed=5)
    world.add_user("2001")
    world.add_handset(A, "2001", feature_key_sync=True)
    world.start()
    world.run(2.0)
    return world


def _request(world: World, method: str, *, user: str = "2001", call_id: str = "x1", branch: str = "z9hG4bKa",
             body: bytes = b"", content_type: str | None = None, caller: str = "0301234") -> bytes:
    host, port = world.system.dms[1].address
    server_host, server_port = SERVER_ADDRESS
    lines = [f"{method} sip:{user}@{host}:{port} SIP/2.0",
             f"Via: SIP/2.0/UDP {server_host}:{server_port};branch={branch}",
             "Max-Forwards: 70", f"From: <sip:{caller}@as.example.com>;tag=ct",
             f"To: <sip:{user}@as.example.com>", f"Call-ID: {call_id}", f"CSeq: 1 {method}",
             f"Contact: <sip:0301234@{server_host}:{server_port}>"]
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _send(world: World, data: bytes, now: float) -> list[Request | Response]:
    out = world.system.receive_sip(now, 1, data, SERVER_ADDRESS)
    return [parse_message(o.data) for o in out if isinstance(o, SipOut)]


def _statuses(messages: list[Request | Response]) -> list[int]:
    return [m.status for m in messages if isinstance(m, Response)]


def _retransmitted(world: World, start: float, until: float) -> list[int]:
    found: list[int] = []
    for _ in range(200):
        deadline = world.system.next_deadline()
        if deadline is None or deadline > until:
            break
        found += [m.status for o in world.system.handle_timer(deadline) if isinstance(o, SipOut)
                  for m in [parse_message(o.data)] if isinstance(m, Response) and m.cseq.method == "INVITE"]
    return found


def test_the_ack_of_a_415_reaches_the_transaction_and_stops_its_retransmissions() -> None:
    # RFC 3261 §17.2.1: the ACK of a non-2xx final response moves the transaction to Confirmed (no more
    # copies). The refused INVITE's Call-ID was routed nowhere, so its ACK was dropped and the 415 went
    # out 10 more times until Timer H.
    world = _world()
    now = world.env.now
    assert _statuses(_send(world, _request(world, "INVITE", body=b"<x/>", content_type="application/xml"),
                           now)) == [415]
    assert _send(world, _request(world, "ACK"), now + 0.1) == []
    assert _retransmitted(world, now, now + 40.0) == []


def test_a_cancel_crossing_a_415_gets_200() -> None:
    # RFC 3261 §9.2: the CANCEL matches the INVITE's transaction (it is Completed): 200, not 481.
    world = _world()
    now = world.env.now
    _send(world, _request(world, "INVITE", body=b"<x/>", content_type="application/xml"), now)
    assert _statuses(_send(world, _request(world, "CANCEL"), now + 0.1)) == [200]


def test_an_invite_for_no_account_of_the_base_gets_404() -> None:
    # RFC 3261 §8.2.2.1: a Request-URI the UAS does not accept requests for: 404 Not Found (481 says
    # "no such dialog or transaction", which a new INVITE never names).
    world = _world()
    now = world.env.now
    sent = _send(world, _request(world, "INVITE", user="9999", body=OFFER, content_type=MEDIA_TYPE), now)
    assert _statuses(sent) == [404]


def test_a_caller_number_longer_than_an_information_element_does_not_raise() -> None:
    # The caller's user part goes into CALLING-PARTY-NUMBER and MULTI-DISPLAY (255 octets at most):
    # 300 digits raised LocalProtocolError out of receive_sip.
    world = _world()
    now = world.env.now
    data = _request(world, "INVITE", body=OFFER, content_type=MEDIA_TYPE, caller="1" * 300)
    out = world.system.receive_sip(now, 1, data, SERVER_ADDRESS)
    assert [parse_message(o.data).status for o in out if isinstance(o, SipOut)] == [100]   # type: ignore[union-attr]
    assert [o.name for o in out if isinstance(o, AirOut)] == ["CC-SETUP"]


def test_a_call_ringing_when_its_handset_roams_away_is_still_cancelled() -> None:
    # The handset roams to DECT manager 2 while DECT manager 1 rings it. DM 1 retires the account's
    # cores; its call core, with no deadline while the INVITE rings, was forgotten at once with its
    # Call-ID, so the caller's CANCEL got 481 (RFC 3261 §9.2: 200, and 487 to the INVITE), the call
    # stayed on DM 1's desk, and its CFNA timer later sent a 302 for a call the caller had given up.
    world = World("N870", seed=5, dect_managers=2)
    world.add_user("2001")
    world.add_handset(A, "2001", feature_key_sync=False)   # the base keeps CFNA itself
    world.store.set_local_features(A, FeatureState(cfna=Forwarding(active=True, to="3000", rings=3)))
    world.start()
    world.run(2.0)
    world.call("c1", "3005", "2001")
    world.run(4.0)
    world.roam(A, 2)
    world.run(8.0)
    world.hangup("c1")
    world.run(40.0)
    answers = [(m["method"], m["status"]) for m in sip(world) if m["t"] >= 8.0 and m["status"] is not None
               and m["method"] in ("CANCEL", "INVITE")]
    assert answers == [("CANCEL", 200), ("INVITE", 487)]
    assert world.system.dms[1].desk.calls == {}


def test_a_call_the_base_releases_on_a_dect_protocol_error_is_hung_up_on_the_sip_side_too() -> None:
    # A message that fits no phase of the answered call (here a CC-CONNECT-ACK from the handset) is
    # answered by the endpoint with CC-RELEASE-COM, which ends the call for the handset; the base's
    # call record and the SIP call stayed up with nobody in it. Now the desk hears the DECT call ended
    # and sends BYE. (A CC-INFO, the keypad in a call, is taken: tests/dect/test_call_review.py.)
    world = _world()
    world.call("c1", "3005", "2001")
    world.run(4.0)
    world.keys(A, ["TALK"])
    world.run(6.0)
    assert world.call_state("c1")["outcome"] == "answered"
    dm = world.system.dms[1]
    (fp_call,) = dm.endpoint.calls.calls.values()
    stray = encode(message(MessageType.CC_CONNECT_ACK, tv=fp_call.tv, ti_flag=True), sender=Side.PP)
    world.send(world.system.receive_dect(world.env.now, 1, dm.link_of(A), stray))
    world.run(10.0)
    assert [(m["method"], m["status"]) for m in sip(world) if m["t"] >= 6.0] == [("BYE", None), ("BYE", 200)]
    assert dm.desk.calls == {} and dm.endpoint.calls.calls == {}
