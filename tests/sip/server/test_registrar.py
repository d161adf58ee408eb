"""The registrar (RFC 3261 §10.3) with the base's real registration client, and raw REGISTERs for
the rules a well-behaved client never breaks."""

from __future__ import annotations

import pytest

from sip.auth import DigestClient, parse_challenge
from sip.events import Registered, RegistrationFailed, SendDatagram
from sip.ids import SequentialIds
from sip.message import Response, parse_message
from sip.server import Faults
from sip.server.registrar import RegistrarConfig

AS = ("192.0.2.1", 5060)
HANDSET1 = ("192.0.2.10", 5070)
HANDSET2 = ("192.0.2.10", 5072)
DESK = ("192.0.2.20", 5060)


def register(world, address, user="2001", password=None, **cfg):  # type: ignore[no-untyped-def]
    reg = world.registration(address, user, password, **cfg)
    world.go(address, reg.start(world.now))
    return reg


def raw_register(contact: str, *, expires: str | None = "3600", call_id: str = "c1", cseq: int = 1, user: str = "2001") -> bytes:
    lines = [
        "REGISTER sip:as.example.com SIP/2.0",
        f"Via: SIP/2.0/UDP 192.0.2.30:5060;branch=z9hG4bK-r{cseq}-{call_id}",
        "Max-Forwards: 70",
        f"From: <sip:{user}@as.example.com>;tag=f1",
        f"To: <sip:{user}@as.example.com>",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} REGISTER",
    ]
    if contact:
        lines.append(f"Contact: {contact}")
    if expires is not None:
        lines.append(f"Expires: {expires}")
    return ("\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n").encode()


def answer(server, data: bytes, now: float = 0.0) -> Response:  # type: ignore[no-untyped-def]
    (out,) = server.receive(now, data, ("192.0.2.30", 5060))
    assert isinstance(out, SendDatagram)
    message = parse_message(out.data)
    assert isinstance(message, Response)
    return message


def test_401_then_200_listing_the_contact_with_expires(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world()
    reg = register(world, HANDSET1)
    assert reg.registered and [r.status for r in world.responses(method="REGISTER")] == [401, 200]
    challenge = world.responses(401)[0].headers.get("WWW-Authenticate") or ""
    assert 'realm="as.example.com"' in challenge and 'qop="auth"' in challenge
    ok = world.responses(200, "REGISTER")[0]
    assert [(c.uri.port, c.param("expires")) for c in ok.contacts] == [(5070, "3600")]  # type: ignore[union-attr]
    assert isinstance(world.wire.take(HANDSET1)[0], Registered)
    (binding,) = world.server.registrations("2001")
    assert binding.source == HANDSET1 and binding.expires_at == pytest.approx(3600.03, abs=0.01)


def test_several_devices_of_one_user_each_have_a_binding(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world()
    register(world, HANDSET1)
    register(world, HANDSET2)
    register(world, DESK, user="2002")
    assert sorted(b.contact.uri.port for b in world.server.registrations("2001")) == [5070, 5072]  # type: ignore[union-attr]
    last = world.responses(200, "REGISTER", AS)[1]
    assert len(last.contacts) == 2
    assert len(world.server.registrations("2002")) == 1


def test_wrong_password_gets_403(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world()
    reg = register(world, HANDSET1, password="wrong", retry_forbidden=None)
    assert [r.status for r in world.responses(method="REGISTER")] == [401, 403]
    assert not reg.registered and world.server.registrations("2001") == []
    failed = world.wire.take(HANDSET1)
    assert failed == [RegistrationFailed(status=403, reason="Forbidden", retry_at=None)]


def test_unknown_user_gets_404(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world()
    register(world, HANDSET1, user="9999")
    assert [r.status for r in world.responses(method="REGISTER")] == [404]


def test_stale_nonce_is_challenged_with_stale_true(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world(nonce_lifetime=300.0)
    server = world.server
    first = answer(server, raw_register("<sip:2001@192.0.2.30:5060>", cseq=1), now=0.0)
    assert first.status == 401
    challenge = parse_challenge(first.headers.get("WWW-Authenticate") or "")
    client = DigestClient("2001", "s3cret", cnonce_source=SequentialIds("cn"))

    def with_credentials(cseq: int) -> bytes:
        credentials = client.authorize("REGISTER", "sip:as.example.com", challenge)
        head, _, _ = raw_register("<sip:2001@192.0.2.30:5060>", cseq=cseq).partition(b"Content-Length")
        return head + f"Authorization: {credentials}\r\nContent-Length: 0\r\n\r\n".encode()

    assert answer(server, with_credentials(2), now=10.0).status == 200
    stale = answer(server, with_credentials(3), now=400.0)  # the nonce is 400 s old, lifetime 300 s
    assert stale.status == 401 and "stale=true" in (stale.headers.get("WWW-Authenticate") or "")
    fresh = parse_challenge(stale.headers.get("WWW-Authenticate") or "")
    challenge = fresh
    assert answer(server, with_credentials(4), now=401.0).status == 200


def test_every_refresh_of_the_real_client_is_authenticated(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world()
    reg = register(world, HANDSET1)
    world.wire.run(3600.0)
    assert [r.status for r in world.responses(method="REGISTER")] == [401, 200, 401, 200]
    assert reg.registered and len(world.server.registrations("2001")) == 1


def test_expires_zero_removes_the_binding(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world()
    reg = register(world, HANDSET1)
    register(world, HANDSET2)
    world.go(HANDSET1, reg.stop(world.now))
    (left,) = world.server.registrations("2001")
    assert left.source == HANDSET2
    last = world.responses(200, "REGISTER")[-1]
    assert [c.uri.port for c in last.contacts] == [5072]  # type: ignore[union-attr]


def test_bindings_expire(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world(authenticate=frozenset())
    server = world.server
    assert answer(server, raw_register("<sip:2001@192.0.2.30:5060>", expires="120")).status == 200
    assert len(server.registrations("2001", now=119.0)) == 1
    assert server.registrations("2001", now=121.0) == []


def test_too_short_interval_gets_423_with_min_expires(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world(registrar=RegistrarConfig(min_expires=600))
    reg = register(world, HANDSET1, expires=100)
    too_brief = world.responses(423)
    assert too_brief and too_brief[0].min_expires == 600
    assert reg.registered and reg.expires == 600


def test_expires_is_capped_and_contact_parameter_wins(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world(authenticate=frozenset())
    ok = answer(world.server, raw_register("<sip:2001@192.0.2.30:5060>;expires=99999", expires="60"))
    assert [c.param("expires") for c in ok.contacts] == ["3600"]


def test_star_removes_all_bindings_only_with_expires_zero(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world(authenticate=frozenset())
    server = world.server
    answer(server, raw_register("<sip:2001@192.0.2.30:5060>", cseq=1))
    answer(server, raw_register("<sip:2001@192.0.2.31:5060>", call_id="c2", cseq=1))
    assert len(server.registrations("2001")) == 2
    assert answer(server, raw_register("*", expires="3600", cseq=2)).status == 400
    ok = answer(server, raw_register("*", expires="0", cseq=3))
    assert ok.status == 200 and ok.contacts == [] and server.registrations("2001") == []


def test_query_without_contact_lists_the_bindings(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world(authenticate=frozenset())
    answer(world.server, raw_register("<sip:2001@192.0.2.30:5060>"))
    ok = answer(world.server, raw_register("", expires=None, cseq=2), now=100.0)
    assert [c.param("expires") for c in ok.contacts] == ["3500"]


def test_out_of_order_cseq_in_the_same_call_id_fails(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world(authenticate=frozenset())
    answer(world.server, raw_register("<sip:2001@192.0.2.30:5060>", cseq=5))
    late = answer(world.server, raw_register("<sip:2001@192.0.2.30:5060>", expires="0", cseq=4))
    assert late.status == 500 and len(world.server.registrations("2001")) == 1


def test_reject_knob_and_restart(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world(faults=Faults(reject={"REGISTER": 503}, retry_after=30))
    reg = register(world, HANDSET1)
    refused = world.responses(503)
    assert refused and refused[0].retry_after is not None and refused[0].retry_after.seconds == 30
    world.server.faults.reject.clear()
    world.wire.run(world.now + 31.0)
    assert reg.registered and len(world.server.registrations("2001")) == 1
    world.server.restart(world.now)
    assert world.server.registrations("2001") == []
