"""IPv6: hosts from socket addresses are written as IPv6 references, and Via's received may carry an
IPv6 address (RFC 3261 §25.1, §18.2.1); every core works between [::1] endpoints."""

import pytest

from sip.events import FeatureCodeAnswered, Registered, SubscriptionActivated
from sip.fac import FeatureCodeCaller, FeatureCodeConfig
from sip.ids import SequentialIds
from sip.message import parse_message
from sip.pair import Wire
from sip.registration import RegistrationClient, RegistrationConfig
from sip.server.app import ApplicationServer, ServerConfig
from sip.server.users import User
from sip.subscriber import Subscriber, SubscriberConfig
from sip.uri import host_of, parse_params

BASE, AS = ("::1", 5060), ("::1", 5070)
AOR_USER = "2001"


@pytest.mark.parametrize(("host", "written"), [("::1", "[::1]"), ("[::1]", "[::1]"), ("192.0.2.1", "192.0.2.1"),
                                               ("as.example.com", "as.example.com")])
def test_host_of(host, written):
    assert host_of(host) == written


def test_received_may_carry_an_ipv6_address():
    assert parse_params(";branch=z9hG4bK1;received=fe80::1;rport=5060", "Via") == (
        ("branch", "z9hG4bK1"), ("received", "fe80::1"), ("rport", "5060"))
    assert parse_params(";maddr=[2001:db8::1]", "Via") == (("maddr", "[2001:db8::1]"),)


def _server():
    return ApplicationServer(ServerConfig(local=AS), [User(name=AOR_USER, password="pw")], ids=SequentialIds("as"))


def test_register_subscribe_and_dial_over_ipv6():
    from sip.uri import SipUri

    aor = SipUri(user=AOR_USER, host="as.example.com")
    server = _server()
    config = RegistrationConfig(aor=aor, registrar=AS, local=BASE, username=AOR_USER, password="pw")
    first = RegistrationClient(config, ids=SequentialIds("look")).start(0.0)[0].data
    registration = RegistrationClient(config, ids=SequentialIds("r"))
    assert b"Via: SIP/2.0/UDP [::1]:5060;" in first and b"<sip:2001@[::1]:5060>" in first
    parse_message(first)  # our own request parses
    wire = Wire({BASE: registration, AS: server})
    wire.feed(BASE, registration.start(0.0))
    wire.settle()
    assert any(isinstance(e, Registered) for e in wire.take(BASE))

    subscriber = Subscriber(SubscriberConfig(aor=aor, server=AS, local=BASE, username=AOR_USER, password="pw"),
                            ids=SequentialIds("s"))
    wire = Wire({BASE: subscriber, AS: server})
    wire.feed(BASE, subscriber.start(0.0))
    wire.settle()
    assert any(isinstance(e, SubscriptionActivated) for e in wire.take(BASE))

    caller = FeatureCodeCaller(FeatureCodeConfig(aor=aor, server=AS, local=BASE, username=AOR_USER,
                                                 password="pw"), ids=SequentialIds("f"))
    wire = Wire({BASE: caller, AS: server})
    wire.feed(BASE, caller.dial(0.0, "*78"))
    wire.settle()
    assert [e.status for e in wire.take(BASE) if isinstance(e, FeatureCodeAnswered)] == [200]
    assert server.user_state(AOR_USER).dnd is True
