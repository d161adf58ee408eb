"""Seed corpora for the fuzz targets: real messages and documents (recorded traffic of real cores,
the RFC 4475 torture set, the DECT golden vectors, the provisioning and scenario files the tests
and the library use) and the hostile classes of issue 11, as whole documents and as fragments the
mutators splice into value slots.

Everything here is computed once per process, deterministically (fixed id seeds, sorted files).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sip.call import CallAnswerer, CallAnswererConfig, Phase
from sip.events import Address, CallOffered, Output
from sip.fac import FeatureCodeCaller, FeatureCodeConfig
from sip.feature_event import (
    DoNotDisturbEvent,
    ForwardingEvent,
    ForwardingType,
    SetDoNotDisturb,
    SetForwarding,
    build_body,
    build_feature_body,
)
from sip.ids import SequentialIds
from sip.pair import Wire
from sip.registration import RegistrationClient, RegistrationConfig
from sip.server import ApplicationServer, ServerConfig, User
from sip.subscriber import Subscriber, SubscriberConfig
from sip.uri import SipUri
from support.shared import SHARED

ROOT = Path(__file__).resolve().parents[2]

AS: Address = ("192.0.2.1", 5060)
SUBSCRIBER: Address = ("192.0.2.10", 5060)
REGISTRAR_CLIENT: Address = ("192.0.2.11", 5060)
CALLER: Address = ("192.0.2.12", 5060)
ANSWERER: Address = ("192.0.2.13", 5060)   # a base's call core: user 2002's registered contact
DOMAIN = "as.example.com"
USERS = (("2001", "s3cret"), ("2002", "pw2002"))

# --- hostile fragments: spliced into value slots of every kind of document ------------------------

HOSTILE_FRAGMENTS: tuple[str, ...] = (
    "9" * 5000,  # int() digit limit (4300)
    "0" * 5000 + "1",  # leading zeros
    "1" + "0" * 30,
    "4294967296",
    "-1",
    "+1",
    "1_000",
    "1e999",
    ".inf",
    "-.inf",
    ".nan",
    "NaN",
    "0x10",
    "²",
    "٣",
    "a" * 30,  # token runs without "<" (the name-addr backtracking)
    "a" * 500,
    "a" * 5000,
    "a " * 2000,
    "a\t" * 500,
    '"' * 99,
    '"' + "a" * 3000,
    "\\" * 999,
    "<" * 500,
    ">" * 500,
    ";" * 2000,
    "=" * 2000,
    "," * 2000,
    ";a=" * 1000,
    "*" * 300,
    "&" * 300,
    "\r\n",
    "\r",
    "\n",
    "\r\n ",
    "\x00",
    "\x0b" * 500,
    "\u2028",
    "\ufeff",
    "%00",
    "%C2%B2",
    "&lt;",
    "&a;",
    "<![CDATA[x]]>",
    "<!DOCTYPE x [<!ENTITY a 'b'>]>",
    "[" * 3000,
    "{" * 3000,
    "- " * 3000,
    "*a",
    "&a [1]",
    "!!python/object/apply:os.system ['true']",
    "",
)

# --- SIP ----------------------------------------------------------------------------------------


def recorded_server() -> ApplicationServer:
    """A fresh server identical to the recorded one (same ids, users, configuration)."""
    return ApplicationServer(
        ServerConfig(local=AS, domain=DOMAIN), [User(name=n, password=p) for n, p in USERS],
        ids=SequentialIds("fuzz-as"),
    )  # fmt: skip


@functools.cache
def recorded_log() -> tuple[tuple[float, Address, Address, bytes], ...]:
    """Every datagram (time, source, destination, octets) of a small real exchange against the
    embedded server (digest auth on): a subscriber subscribing, setting DND and CFNA and
    unsubscribing, a registration, a FAC call."""
    server = recorded_server()
    sub, reg, caller = recorded_cores()
    wire = Wire({AS: server, SUBSCRIBER: sub, REGISTRAR_CLIENT: reg, CALLER: caller})
    wire.feed(SUBSCRIBER, sub.start(0.0))
    wire.feed(REGISTRAR_CLIENT, reg.start(0.0))
    wire.settle()
    wire.feed(SUBSCRIBER, sub.set(wire.now, SetDoNotDisturb(device="2001", on=True)))
    wire.settle()
    wire.feed(
        SUBSCRIBER,
        sub.set(wire.now, SetForwarding(device="2001", forwarding_type=ForwardingType.CFNA,
                                        activate=True, forward_dn="3000", ring_count=4)),
    )  # fmt: skip
    wire.settle()
    wire.feed(CALLER, caller.dial(wire.now, "*723001"))
    wire.settle()
    wire.feed(SUBSCRIBER, sub.stop(wire.now))
    wire.settle()
    return tuple(wire.log)


def recorded_cores() -> tuple[Subscriber, RegistrationClient, FeatureCodeCaller]:
    """Fresh cores identical to the recorded ones (same ids): the recorded answers match their
    transactions, so a mutated answer reaches the dialog and subscription code, not only the parser."""
    aor = SipUri(user="2001", host=DOMAIN)
    sub = Subscriber(
        SubscriberConfig(aor=aor, server=AS, local=SUBSCRIBER, username="2001", password="s3cret"),
        ids=SequentialIds("fuzz-sub"),
    )
    reg = RegistrationClient(
        RegistrationConfig(aor=aor, registrar=AS, local=REGISTRAR_CLIENT, username="2001", password="s3cret"),
        ids=SequentialIds("fuzz-reg"),
    )
    caller = FeatureCodeCaller(
        FeatureCodeConfig(aor=aor, server=AS, local=CALLER, username="2001", password="s3cret"),
        ids=SequentialIds("fuzz-fac"),
    )
    return sub, reg, caller


# --- calls: the server delivering outside calls to a base's call core -----------------------------


@dataclass(frozen=True)
class CallAction:
    """A step of the call exchange that is not a datagram: the outside caller places (`place`) or
    hangs up (`hang-up`) call `label` at the server, or the base's application answers, rejects (486),
    redirects (to 3000) or hangs up the `label`-th call offered to it (`base-answer`, `base-reject`,
    `base-redirect`, `base-hang-up`; 0 is the first)."""

    when: float
    kind: str
    label: str


#: The call exchange: ((time, source, destination, octets) datagrams and CallActions, in order).
CallStep = tuple[float, Address, Address, bytes] | CallAction


def recorded_call_answerer() -> CallAnswerer:
    """A fresh call core identical to the recorded one (user 2002 at ANSWERER, same ids)."""
    return CallAnswerer(
        CallAnswererConfig(aor=SipUri(user="2002", host=DOMAIN), server=AS, local=ANSWERER),
        ids=SequentialIds("fuzz-call"),
    )  # fmt: skip


#: The phases in which the base's application may still answer, reject or redirect a call (as
#: firmware/calls.py asks only then).
_UNDECIDED = (Phase.OFFERED, Phase.RINGING)


class CallApp:
    """The base's application as the fuzz targets drive it: every call offered rings at once (180);
    the timed `base-*` actions act on the n-th call offered, when it is still there to act on."""

    def __init__(self, answerer: CallAnswerer) -> None:
        self.answerer = answerer
        self.offered: list[str] = []

    def react(self, now: float, event: Output) -> list[Output]:
        if isinstance(event, CallOffered):
            self.offered.append(event.call_id)
            return self.answerer.ringing(now, event.call_id)
        return []

    def act(self, action: CallAction) -> list[Output]:
        index = int(action.label)
        call = self.answerer.calls.get(self.offered[index]) if index < len(self.offered) else None
        if call is None or (action.kind != "base-hang-up" and call.phase not in _UNDECIDED):
            return []   # that call never came (its INVITE was refused), is over or answered already
        call_id, now, answerer = self.offered[index], action.when, self.answerer
        decisions: dict[str, Callable[[], list[Output]]] = {
            "base-answer": lambda: answerer.answer(now, call_id),
            "base-reject": lambda: answerer.reject(now, call_id, 486),
            "base-redirect": lambda: answerer.redirect(now, call_id, "3000"),
            "base-hang-up": lambda: answerer.hang_up(now, call_id),
        }
        return decisions[action.kind]()


@functools.cache
def recorded_call_log() -> tuple[CallStep, ...]:
    """Six outside calls to user 2002, each ringing at the base: answered and hung up by the base,
    answered and hung up by the caller, cancelled by the caller, rejected 486, redirected 302, and one
    left ringing until the caller gives up (2002 forwards nothing: 60 s, sip/server/calls.py)."""
    server = recorded_server()
    registration = RegistrationClient(
        RegistrationConfig(aor=SipUri(user="2002", host=DOMAIN), registrar=AS, local=ANSWERER,
                           username="2002", password="pw2002"),
        ids=SequentialIds("fuzz-reg-2002"),
    )  # fmt: skip
    wire = Wire({AS: server, ANSWERER: registration})
    wire.feed(ANSWERER, registration.start(0.0))
    wire.settle()
    answerer = recorded_call_answerer()
    app = CallApp(answerer)
    wire.cores[ANSWERER] = answerer   # the registration is done: the call core takes the address over
    wire.apps[ANSWERER] = app.react
    steps: list[CallStep] = _arrived(wire, 0)
    script = (
        (1.0, "place", "c0"), (3.0, "base-answer", "0"), (8.0, "base-hang-up", "0"),
        (10.0, "place", "c1"), (12.0, "base-answer", "1"), (15.0, "hang-up", "c1"),
        (20.0, "place", "c2"), (23.0, "hang-up", "c2"),
        (30.0, "place", "c3"), (31.0, "base-reject", "3"),
        (40.0, "place", "c4"), (41.0, "base-redirect", "4"),
        (50.0, "place", "c5"),
    )
    for when, kind, label in script:
        wire.run(when)
        action = CallAction(when, kind, label)
        steps += _arrived(wire, len(steps) - _actions(steps))
        steps.append(action)
        if kind == "place":
            wire.feed(AS, server.place_call(when, caller="0301234", user="2002", label=label))
        elif kind == "hang-up":
            wire.feed(AS, server.hang_up_call(when, label))
        else:
            wire.feed(ANSWERER, app.act(action))
    wire.run(150.0)   # the last call: the caller gives up after 60 s
    steps += _arrived(wire, len(steps) - _actions(steps))
    return tuple(steps)


def _arrived(wire: Wire, start: int) -> list[CallStep]:
    """The datagrams the wire logged from `start` on, each at the time it arrived (sent + latency):
    the time its receiver saw, which the server's nonces and the calls' timers depend on."""
    return [(when + wire.latency, source, destination, data) for when, source, destination, data in wire.log[start:]]


def _actions(steps: list[CallStep]) -> int:
    return sum(1 for s in steps if isinstance(s, CallAction))


def rfc4475_messages() -> tuple[bytes, ...]:
    folder = SHARED / "data" / "rfc4475"
    return tuple(p.read_bytes() for p in sorted(folder.glob("*.dat"))) if folder.is_dir() else ()


def _hostile_sip() -> tuple[bytes, ...]:
    head = (
        "SUBSCRIBE sip:2001@as.example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-f\r\n"
        "Max-Forwards: 70\r\nFrom: <sip:2001@as.example.com>;tag=1\r\nTo: <sip:2001@as.example.com>\r\n"
        "Call-ID: fuzz\r\nCSeq: 1 SUBSCRIBE\r\nEvent: as-feature-event\r\n"
    )
    out = [
        (head + "Content-Length: 0\r\n" + "X-A: b\r\n" * 127 + "\r\n").encode(),
        (head + "Subject: " + "x" * 20000 + "\r\nContent-Length: 0\r\n\r\n").encode(),
        (head + "Subject: a\r\n" + " b\r\n" * 3000 + "Content-Length: 0\r\n\r\n").encode(),
        (head + "From: " + "a" * 40 + "\r\nContent-Length: 0\r\n\r\n").encode(),
        (head + "Contact: " + "a " * 40 + "\r\nContent-Length: 0\r\n\r\n").encode(),
        (head + "Route: " + "<sip:a@b>," * 3000 + "\r\nContent-Length: 0\r\n\r\n").encode(),
        b"\r\n" * 30000,
        b"SIP/2.0 200 " + b"x" * 60000 + b"\r\n\r\n",
    ]
    for name in ("CSeq", "Content-Length", "Expires", "Max-Forwards", "Retry-After", "Min-Expires"):
        value = "9" * 5000 + (" SUBSCRIBE" if name == "CSeq" else "")
        out.append((head.replace("CSeq: 1 SUBSCRIBE\r\n", "") + f"{name}: {value}\r\n\r\n").encode())
    out.append((head + "Subscription-State: active;expires=" + "9" * 5000 + "\r\n\r\n").encode())
    return tuple(out)


@functools.cache
def sip_messages() -> tuple[bytes, ...]:
    calls = tuple(step[3] for step in recorded_call_log() if not isinstance(step, CallAction))
    return tuple(data for *_, data in recorded_log()) + calls + rfc4475_messages() + _hostile_sip()


# --- feature bodies -------------------------------------------------------------------------------


@functools.cache
def feature_bodies() -> tuple[tuple[str, bytes], ...]:
    """(Content-Type, body) pairs: every body type, plain and multipart, and hostile XML."""
    items = [
        SetDoNotDisturb(device="2001", on=True),
        SetForwarding(device="2001", forwarding_type=ForwardingType.CFA, activate=True, forward_dn="3000"),
        SetForwarding(device="2001", forwarding_type=ForwardingType.CFNA, activate=True, forward_dn="3",
                      ring_count=4),
        DoNotDisturbEvent(device="2001", on=False),
        ForwardingEvent(device="2001", forwarding_type=ForwardingType.CFB, status=True, forward_to="3001"),
    ]  # fmt: skip
    xml = "application/x-as-feature-event+xml"
    out = [(xml, build_body(item)) for item in items]
    media, body = build_feature_body(items)
    out.append((str(media), body))
    dnd = build_body(items[0])
    out += [
        (xml, b"<a>" * 100_000 + b"</a>" * 100_000),
        (xml, b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">' + b"".join(
            b'<!ENTITY %c "%s">' % (98 + i, b"&%c;" % (97 + i) * 10) for i in range(8)
        ) + b"]><SetDoNotDisturb>&i;</SetDoNotDisturb>"),
        (xml, b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><SetDoNotDisturb>&e;</SetDoNotDisturb>'),
        (xml, b'<?xml version="1.0" encoding="x-unknown"?><a/>'),
        (xml, dnd.decode().encode("utf-16")),
        (xml, dnd.replace(b"true", b"9" * 5000)),
        ("multipart/mixed;boundary=b", b"--b\r\n" * 5000 + b"--b--"),
        ("multipart/mixed;boundary=b", b"--b\r\n" + b"Content-Type: " + b"a" * 5000 + b"\r\n\r\nx\r\n--b--"),
    ]  # fmt: skip
    return tuple(out)


# --- DECT -----------------------------------------------------------------------------------------

_HEX_RE = re.compile(r'"((?:[0-9A-Fa-f]{2} )+[0-9A-Fa-f]{2})"')


@functools.cache
def dect_messages() -> tuple[bytes, ...]:
    """The golden vectors of tests/dect (every message type), read from the test's text."""
    out: list[bytes] = []
    for name in ("test_codec_golden.py", "test_proprietary.py", "test_ies.py"):
        path = ROOT / "tests" / "dect" / name
        if path.exists():
            out += [bytes.fromhex(h) for h in _HEX_RE.findall(path.read_text())]
    out += [b"", b"\x05", b"\x05\x54" + b"\x7b\xff" + b"\x00" * 300, b"\x05\x54" + b"\xe0" * 500]
    return tuple(dict.fromkeys(out))


# --- provisioning ---------------------------------------------------------------------------------


def _provisioning_param(name: str, value: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<provisioning version="1.1" productID="e2"><nvm>'
        f'<param name="{name}" value="{value}"/></nvm></provisioning>'
    ).encode()


#: Seeds that fail in code other parts of the project own (reported to them): left out of the short
#: run, kept in the long one. firmware/provisioning_params.py int()s the provider number of
#: "SipProvider.<n>.<field>" unbounded: ValueError (digit limit) escapes lint.
PROVISIONING_KNOWN_FAILURES: frozenset[bytes] = frozenset()
#: Once known failures, fixed since (bounded numbers in provisioning): seeds like any other now.
PROVISIONING_FIXED: tuple[bytes, ...] = (_provisioning_param("SipProvider." + "9" * 5000 + ".Name", "x"),)
#: The fragments that cause the same failure when spliced into a number: not in its short run.
PROVISIONING_KNOWN_FRAGMENTS: frozenset[str] = frozenset()


@functools.cache
def provisioning_documents() -> tuple[bytes, ...]:
    folder = ROOT / "tests" / "firmware" / "data"
    out = [p.read_bytes() for p in sorted(folder.glob("*.xml"))]
    good = (folder / "good.xml").read_bytes() if (folder / "good.xml").exists() else b"<a/>"
    out += [
        b"<a>" * 100_000 + b"</a>" * 100_000,
        good.replace(b'"1"', b'"' + b"9" * 5000 + b'"'),
        b'<?xml version="1.0" encoding="x-unknown"?><a/>',
        good.decode("utf-8", "replace").encode("utf-16"),
        _provisioning_param("SipAccount." + "9" * 5000 + ".AuthName", "x"),
        _provisioning_param("hs." + "9" * 5000 + ".RegStatus", "ToReg"),
        _provisioning_param("SipProvider.1.Name", "x" * 100_000),
        *sorted(PROVISIONING_KNOWN_FAILURES), *PROVISIONING_FIXED,
    ]
    return tuple(out)


# --- scenarios ------------------------------------------------------------------------------------


@functools.cache
def scenario_texts() -> tuple[str, ...]:
    library = ROOT / "scenarios" / "library"
    return tuple(p.read_text(encoding="utf-8") for p in sorted(library.rglob("*.yaml")))


def yaml_alias_bomb(levels: int = 9) -> str:
    lines = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, levels):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


@functools.cache
def hostile_scenarios() -> tuple[tuple[str, str], ...]:
    """(name, text): whole hostile scenario documents. `name` keys the known failures below."""
    base = scenario_texts()[0] if scenario_texts() else "name: x\n"
    return (
        ("alias-bomb", yaml_alias_bomb()),
        ("alias-bomb-in-steps", base + "\nx-bomb:\n" + "".join(f"  {ln}\n" for ln in yaml_alias_bomb().splitlines())),
        ("deep-flow", "[" * 5000 + "]" * 5000),
        ("deep-block", "".join("  " * i + "a:\n" for i in range(3000))),
        ("huge-int", "name: x\nseed: " + "9" * 5000 + "\n"),
        ("huge-int-in-library", re.sub(r"(?m)^(\s*seed:).*$", r"\1 " + "9" * 5000, base)),
        ("inf-duration", re.sub(r"(?m)^duration: .*$", "duration: .inf", base)),
        ("huge-duration", re.sub(r"(?m)^duration: .*$", "duration: 1e999s", base)),
        ("inf-at", re.sub(r"(?m)(\bat: )\S+", r"\1.inf", base)),
        ("nan-duration", re.sub(r"(?m)(\bat: )\S+", r"\1.nan", base)),
        ("python-tag", "!!python/object/apply:os.system ['true']\n"),
        ("bom-and-nul", "\ufeffname: a\x00\n"),
    )


#: Names of hostile scenarios that fail in code other parts of the project own (reported to them):
#: left out of the short run, kept in the long one. The YAML loader (scenarios/yamlsrc.py) lets
#: RecursionError (deep flow or block nesting; the flow case also takes seconds) and ruamel's int()
#: ValueError (more than 4300 digits) escape instead of a ScenarioError.
SCENARIO_KNOWN_FAILURES: frozenset[str] = frozenset()   # deep nesting and huge integers: fixed
#: The fragments that cause the same failures when spliced into a scenario: not in its short run.
SCENARIO_KNOWN_FRAGMENTS: frozenset[str] = frozenset()
