"""The REGISTER client against a small registrar built on the same core frame (digest, refresh,
423, failures and their back-off)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sip.auth import DigestServer, Verdict, parse_credentials
from sip.core import Core
from sip.events import Address, Output, Registered, RegistrationFailed
from sip.ids import SequentialIds
from sip.message import Request, parse_message
from sip.pair import Wire
from sip.registration import RegistrationClient, RegistrationConfig, RegState
from sip.uri import NameAddr, SipUri

BASE = ("192.0.2.10", 5060)
REGISTRAR = ("192.0.2.1", 5060)
AOR = SipUri(user="4001", host="as.example.com")


class TinyRegistrar(Core):
    """Challenges, verifies and binds; `answer` forces a status instead (test double of issue 5)."""

    def __init__(
        self, *, min_expires: int = 60, answer: int | None = None, retry_after: int | None = None
    ) -> None:
        super().__init__(local=REGISTRAR, ids=SequentialIds("reg"))
        self.digest = DigestServer("as.example.com", secret=b"k", nonce_lifetime=120)
        self.min_expires, self.answer, self.retry_after = min_expires, answer, retry_after
        self.bindings: dict[str, float] = {}

    def _on_request(self, now: float, request: Request, source: Address) -> list[Output]:
        if self.answer is not None:
            headers = [("Retry-After", self.retry_after)] if self.retry_after else []
            return self._answer(now, request, self.answer, headers=headers)
        raw = request.headers.get("Authorization")
        verdict = Verdict.FAILED
        if raw is not None:
            verdict = self.digest.verify(request, parse_credentials(raw), "secret", now)
        if verdict is not Verdict.OK:
            challenge = self.digest.challenge(now, stale=verdict is Verdict.STALE)
            return self._answer(now, request, 401, headers=[("WWW-Authenticate", challenge)])
        expires = request.expires if request.expires is not None else 3600
        if 0 < expires < self.min_expires:
            return self._answer(now, request, 423, headers=[("Min-Expires", self.min_expires)])
        contact = str(request.contacts[0].uri)
        if expires == 0:
            self.bindings.pop(contact, None)
            return self._answer(now, request, 200)
        self.bindings[contact] = now + expires
        bound = NameAddr(uri=request.contacts[0].uri, params=(("expires", str(expires)),))
        return self._answer(now, request, 200, headers=[("Contact", bound)])


def setup(**changes: object) -> tuple[Wire, RegistrationClient, TinyRegistrar]:
    config = RegistrationConfig(aor=AOR, registrar=REGISTRAR, local=BASE, username="4001", password="secret")
    client = RegistrationClient(replace(config, **changes), ids=SequentialIds("base"))  # type: ignore[arg-type]
    registrar = TinyRegistrar()
    return Wire({BASE: client, REGISTRAR: registrar}), client, registrar  # type: ignore[dict-item]


def registers(wire: Wire) -> list[Request]:
    return [m for _, s, _, d in wire.log if isinstance(m := parse_message(d), Request) and s == BASE]


def test_register_with_digest_and_refresh() -> None:
    wire, client, registrar = setup()
    wire.feed(BASE, client.start(0.0))
    wire.settle()
    assert client.state is RegState.REGISTERED
    assert registrar.bindings == {"sip:4001@192.0.2.10:5060": pytest.approx(3600.03)}
    events = wire.take(BASE)
    assert events == [Registered(expires_at=pytest.approx(3600.04))]
    first, second = registers(wire)
    assert first.call_id == second.call_id and second.cseq.seq == first.cseq.seq + 1
    assert second.headers.get("Authorization") is not None
    wire.run(3541.0)  # refresh 60 s before expiry, with a fresh challenge
    assert len(registers(wire)) == 4 and client.registered
    assert all(r.call_id == first.call_id for r in registers(wire))


def test_unregister() -> None:
    wire, client, registrar = setup()
    wire.feed(BASE, client.start(0.0))
    wire.settle()
    wire.feed(BASE, client.stop(wire.now))
    wire.settle()
    assert registers(wire)[-1].expires == 0
    assert registrar.bindings == {} and client.state is RegState.STOPPED


def test_423_min_expires() -> None:
    wire, client, _ = setup(expires=20)
    wire.feed(BASE, client.start(0.0))
    wire.settle()
    assert client.registered and client.expires == 60
    assert [r.expires for r in registers(wire)] == [20, 20, 60, 60]


def test_wrong_password_backs_off_long() -> None:
    wire, client, _ = setup(password="wrong")
    wire.feed(BASE, client.start(0.0))
    wire.settle()
    failed = wire.take(BASE)
    assert failed == [RegistrationFailed(status=401, reason="Unauthorized", retry_at=pytest.approx(3600.04))]
    assert len(registers(wire)) == 2


def test_503_retry_after_and_timeout_backoff() -> None:
    wire, client, registrar = setup()
    registrar.answer, registrar.retry_after = 503, 300
    wire.feed(BASE, client.start(0.0))
    wire.settle()
    assert wire.take(BASE)[0] == RegistrationFailed(status=503, reason="Service Unavailable",
                                                    retry_at=pytest.approx(300.02))  # fmt: skip
    wire, client, _ = setup(retry_base=10.0)
    wire.drop(lambda d, s, t: t == REGISTRAR, count=1000)
    wire.feed(BASE, client.start(0.0))
    wire.run(200.0)
    failures = [e for e in wire.take(BASE) if isinstance(e, RegistrationFailed)]
    assert [f.retry_at for f in failures[:3]] == pytest.approx([42.0, 94.0, 166.0])
    assert all(f.status == 0 for f in failures)
