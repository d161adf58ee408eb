"""Calls to feature access codes: INVITE client and server transactions end to end (2xx ACKed by
the caller and retransmitted by the server until then, non-2xx ACKed by the transaction, timeouts)."""

from __future__ import annotations

import itertools

import pytest

from sip.auth import DigestServer, Verdict, parse_credentials
from sip.core import Core
from sip.errors import LocalProtocolError
from sip.events import Address, FeatureCodeAnswered, Output
from sip.fac import FeatureCodeCaller, FeatureCodeConfig
from sip.ids import SequentialIds
from sip.message import Request, Response, parse_message
from sip.pair import Wire
from sip.uri import NameAddr, SipUri

BASE = ("192.0.2.10", 5060)
AS = ("192.0.2.1", 5060)
AOR = SipUri(user="4001", host="as.example.com")


class FacServer(Core):
    """Answers INVITEs to known codes 200 (others 484), BYE 200; optionally challenges first."""

    def __init__(self, *, auth: bool = False) -> None:
        super().__init__(local=AS, ids=SequentialIds("fac"))
        self.digest = DigestServer("as.example.com", secret=b"k") if auth else None
        self.applied: list[str] = []
        self.acks: list[Request] = []

    def _on_request(self, now: float, request: Request, source: Address) -> list[Output]:
        if request.method == "BYE":
            return self._answer(now, request, 200)
        code = request.uri.user if isinstance(request.uri, SipUri) else ""
        if self.digest is not None:
            raw = request.headers.get("Authorization")
            ok = (
                raw is not None
                and self.digest.verify(request, parse_credentials(raw), "pw", now) is Verdict.OK
            )
            if not ok:
                return self._answer(
                    now, request, 401, headers=[("WWW-Authenticate", self.digest.challenge(now))]
                )
        if code not in ("*78", "*79"):
            return self._answer(now, request, 484)
        self.applied.append(code or "")
        return self._answer(
            now, request, 200, headers=[("Contact", NameAddr(uri=SipUri(host=AS[0], port=AS[1])))]
        )

    def _on_ack(self, now: float, ack: Request) -> list[Output]:
        self.acks.append(ack)
        return []


def setup(auth: bool = False) -> tuple[Wire, FeatureCodeCaller, FacServer]:
    caller = FeatureCodeCaller(
        FeatureCodeConfig(aor=AOR, server=AS, local=BASE, username="4001", password="pw"),
        ids=SequentialIds("b"),
    )
    server = FacServer(auth=auth)
    return Wire({BASE: caller, AS: server}), caller, server  # type: ignore[dict-item]


def methods(wire: Wire) -> list[str]:
    out = []
    for _, _, _, data in wire.log:
        m = parse_message(data)
        out.append(m.method if isinstance(m, Request) else str(m.status))
    return out


@pytest.mark.parametrize("auth", [False, True])
def test_fac_call_answered_acked_and_hung_up(auth: bool) -> None:
    wire, caller, server = setup(auth)
    wire.feed(BASE, caller.dial(0.0, "*78"))
    wire.settle()
    expected = ["INVITE", "200", "ACK", "BYE", "200"]
    assert methods(wire) == (["INVITE", "401", "ACK", *expected] if auth else expected)
    assert wire.take(BASE) == [FeatureCodeAnswered(code="*78", status=200, reason="OK")]
    assert server.applied == ["*78"] and len(server.acks) == 1
    invite = parse_message(wire.log[0][3])
    assert isinstance(invite, Request) and str(invite.uri) == "sip:*78@as.example.com"
    wire.run(100.0)
    assert methods(wire).count("200") == 2  # no 2xx retransmission after the ACK


def test_rejected_code_is_acked_by_the_transaction() -> None:
    wire, caller, _ = setup()
    wire.feed(BASE, caller.dial(0.0, "*99"))
    wire.settle()
    assert methods(wire) == ["INVITE", "484", "ACK"]
    ack = parse_message(wire.log[2][3])
    invite = parse_message(wire.log[0][3])
    assert ack.top_via.branch == invite.top_via.branch  # RFC 3261 §17.1.1.3
    assert wire.take(BASE) == [FeatureCodeAnswered(code="*99", status=484, reason="Address Incomplete")]
    _, server = caller, wire.cores[AS]
    assert isinstance(server, FacServer) and server.transactions.servers  # Confirmed: absorbs ACKs
    wire.run(5.2)
    assert not server.transactions.servers  # Timer I = T4 after the ACK


def test_lost_ack_makes_the_server_retransmit_its_2xx_and_the_caller_re_ack() -> None:
    wire, caller, server = setup()
    wire.drop(lambda d, s, t: d.startswith(b"ACK "), count=1)
    wire.feed(BASE, caller.dial(0.0, "*79"))
    wire.run(5.0)
    sent = methods(wire)
    assert sent.count("ACK") == 2 and len(server.acks) == 1
    assert wire.take(BASE) == [FeatureCodeAnswered(code="*79", status=200, reason="OK")]


def test_lost_error_ack_timer_g_then_h() -> None:
    wire, caller, server = setup()
    wire.drop(lambda d, s, t: d.startswith(b"ACK "), count=100)
    wire.feed(BASE, caller.dial(0.0, "*99"))
    wire.run(60.0)
    times = [t for t, s, _, d in wire.log if s == AS and d.startswith(b"SIP/2.0 484")]
    gaps = [round(b - a, 3) for a, b in itertools.pairwise(times)]
    assert gaps[:4] == [0.5, 1.0, 2.0, 4.0] and max(gaps) == 4.0  # Timer G: T1 doubling to T2
    assert times[-1] < 32.0 + 0.01  # Timer H = 64*T1 ends it
    assert not server.transactions.servers


def test_no_answer_times_out_after_32s_with_timer_a() -> None:
    wire, caller, _ = setup()
    wire.drop(lambda d, s, t: t == AS, count=100)
    wire.feed(BASE, caller.dial(0.0, "*78"))
    wire.run(40.0)
    times = [t for t, s, _, d in wire.log if d.startswith(b"INVITE")]
    assert times == [0.0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert wire.take(BASE) == [FeatureCodeAnswered(code="*78", status=0, reason="timeout")]
    assert isinstance(parse_message(wire.log[0][3]), Request)
    assert not isinstance(parse_message(wire.log[0][3]), Response)


def test_2xx_repeated_after_the_hang_up_is_still_acked_then_the_call_is_forgotten() -> None:
    wire, caller, _ = setup()
    wire.drop(lambda d, s, t: d.startswith(b"ACK "), count=1)
    wire.feed(BASE, caller.dial(0.0, "*79"))
    wire.settle()
    assert not caller.busy and list(caller.calls)  # hung up (BYE answered), still ACKing 2xx repeats
    wire.run(5.0)
    assert methods(wire).count("ACK") == 2  # RFC 3261 §13.2.2.4: an ACK for each 2xx
    wire.run(40.0)
    assert caller.calls == {} and caller.next_deadline() is None


def test_hash_is_escaped_and_undiallable_codes_are_refused() -> None:
    wire, caller, _ = setup()
    wire.feed(BASE, caller.dial(0.0, "*78#"))
    invite = parse_message(wire.log[0][3])
    assert isinstance(invite, Request) and str(invite.uri) == "sip:*78%23@as.example.com"
    with pytest.raises(LocalProtocolError):
        caller.dial(0.0, "*7a")
