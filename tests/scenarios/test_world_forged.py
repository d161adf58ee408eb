"""Issue 11, finding 3, end to end in the simulated world: a NOTIFY from an address that is not the
server does not change what the handset shows; the base answers 403 and its system log (the trace's
`note` lines, the result's `notices`) says so. The same NOTIFY from the server is applied."""

from __future__ import annotations

import re

from scenarios.trace import format_trace
from sip.feature_event import DoNotDisturbEvent, build_body
from sip.message import Request, parse_message
from support.worldkit import IPUI, sip, world

ATTACKER = ("192.0.2.66", 5060)


def _dnd_on_notify(w) -> tuple[bytes, tuple[str, int], tuple[str, int]]:  # type: ignore[no-untyped-def]
    """A NOTIFY like the server's last one, saying DND on, with a new CSeq and branch."""
    entry = [e for e in w.log.entries if e.layer == "sip" and e.data.startswith(b"NOTIFY ")][-1]
    notify = parse_message(entry.data)
    assert isinstance(notify, Request)
    body = build_body(DoNotDisturbEvent(device="2001", on=True))
    head = entry.data.split(b"\r\n\r\n", 1)[0]
    head = re.sub(rb"CSeq: *\d+ NOTIFY", b"CSeq: 900 NOTIFY", head)
    head = re.sub(rb"branch=z9hG4bK[^;\r]*", b"branch=z9hG4bKforged", head)
    head = re.sub(rb"Content-Type: [^\r]*", b"Content-Type: application/x-as-feature-event+xml", head)
    head = re.sub(rb"Content-Length: *\d+", b"Content-Length: %d" % len(body), head)
    return head + b"\r\n\r\n" + body, entry.src_addr, entry.dst_addr


def test_a_forged_notify_changes_nothing_and_is_logged() -> None:
    w = world("N870")
    w.run(until=2.0)
    assert w.handset_state(IPUI)["dnd"] is False
    data, server, base = _dnd_on_notify(w)
    w.net.attach(ATTACKER, lambda _data, _src: None, "attacker")
    w.net.send(ATTACKER, base, data)
    w.run(until=4.0)
    assert w.handset_state(IPUI)["dnd"] is False
    assert [m["status"] for m in sip(w, to="attacker")] == [403]
    assert len(w.notices) == 1 and "NOTIFY from 192.0.2.66:5060 refused (403)" in w.notices[0]["text"]
    trace = format_trace("t", "N870", 1, [], [], True, notices=w.notices)
    assert "note  base" in trace
    # The very same octets from the server's address are believed: the check is the source.
    w.net.send(server, base, data)
    w.run(until=6.0)
    assert w.handset_state(IPUI)["dnd"] is True
