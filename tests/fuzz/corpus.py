"""Seed corpora for the fuzz targets: real messages and documents (recorded traffic of real cores,
the RFC 4475 torture set, the DECT golden vectors, the provisioning and scenario files the tests
and the library use) and the hostile classes of issue 11, as whole documents and as fragments the
mutators splice into value slots.

Everything here is computed once per process, deterministically (fixed id seeds, sorted files).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from sip.events import Address
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
    return tuple(data for *_, data in recorded_log()) + rfc4475_messages() + _hostile_sip()


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
