"""Every error case of feature-key-sync.md §2 end to end: what the base does, and what the handset shows."""

import itertools

import pytest

from scenarios.world.decode import body_elements
from sip.message import parse_message
from sip.state import FeatureState
from support.worldkit import DND_ON, IPUI, MODELS, dect, sip, world


def _subscribes(w, since=0.0):
    return [m for m in sip(w, name="SUBSCRIBE") if m["t"] >= since and m["body"] is None]


def _initial_attempts(w):
    """Initial SUBSCRIBEs (new Call-ID each retry), counting a digest re-send once."""
    return sorted({m["call_id"]: m["t"] for m in _subscribes(w)}.values())


@pytest.mark.parametrize("model", MODELS)
def test_489_makes_fks_unavailable_and_retries_about_every_minute(model):
    w = world(model, start=False)
    w.configure_server(reject={"SUBSCRIBE": 489})
    w.start()
    w.at(30, lambda: w.menu(IPUI, DND_ON))
    w.run(300)
    assert "unavailable" in w.handset_display(IPUI)
    assert w.handset_state(IPUI)["dnd"] is False and w.server_state("2001")["dnd"] is False
    assert not sip(w, body="SetDoNotDisturb")
    attempts = _initial_attempts(w)
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    assert 4 <= len(attempts) <= 6 and all(55 <= g <= 65 for g in gaps), attempts  # never a flood


def test_403_is_retried_on_a_doubling_back_off():
    """Issue 12: 60 s, 120 s, 240 s, ... (at most 30 min), never a flood and never parked for an hour."""
    w = world(start=False)
    w.configure_server(fks=False)
    w.start()
    w.at(10, lambda: w.menu(IPUI, DND_ON))
    w.run(3000)
    assert [m["status"] for m in sip(w, method="SUBSCRIBE") if m["status"] and m["status"] >= 300][-1] == 403
    gaps = [round(b - a) for a, b in itertools.pairwise(_initial_attempts(w))]
    assert gaps == [60, 120, 240, 480, 960], gaps
    assert "unavailable" in w.handset_display(IPUI) and w.handset_state(IPUI)["dnd"] is False


def test_503_with_retry_after_is_retried_after_that_time():
    w = world(start=False)
    w.configure_server(reject={"SUBSCRIBE": 503}, retry_after=120)
    w.start()
    w.at(60, lambda: w.configure_server(reject={}))
    w.run(200)
    attempts = _initial_attempts(w)
    assert len(attempts) == 2 and 119 <= attempts[1] - attempts[0] <= 125
    w.at(201, lambda: w.menu(IPUI, DND_ON))
    w.run(210)
    assert w.handset_state(IPUI)["dnd"] is True


def test_no_answer_times_out_after_32s_and_backs_off_exponentially():
    """No answer to REGISTER: it times out and backs off; without a registration no SUBSCRIBE goes
    out at all (issue 12: registration first)."""
    w = world(start=False, network=None)
    w.configure_network(loss=1.0)
    w.start()
    w.at(10, lambda: w.menu(IPUI, DND_ON))
    w.run(400)
    registers = [m["t"] for m in sip(w, name="REGISTER")]
    assert registers[:4] == pytest.approx([0.0, 0.5, 1.5, 3.5])  # T1 doubling (RFC 3261 §17.1.2.2)
    attempts = registers[::11]   # each attempt is 11 transmissions over 32 s (Timer F)
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    assert gaps and all(later > earlier for earlier, later in itertools.pairwise(gaps)), gaps
    assert not sip(w, name="SUBSCRIBE")
    assert "unavailable" in w.handset_display(IPUI)
    # The network comes back: the base subscribes on its next try and the handset works again.
    w.at(401, lambda: w.configure_network(loss=0.0))
    w.run(3000)
    w.at(3001, lambda: w.menu(IPUI, DND_ON))
    w.run(3010)
    assert w.handset_state(IPUI)["dnd"] is True


def test_server_restart_481_to_a_set_and_the_subscription_is_recreated():
    w = world(server_state=FeatureState(dnd=False))
    w.at(10, w.server_restart)
    w.at(20, lambda: w.menu(IPUI, DND_ON))
    w.run(25)
    assert 481 in [m["status"] for m in sip(w, method="SUBSCRIBE") if m["t"] >= 20]
    assert w.handset_state(IPUI)["dnd"] is False
    assert "by server" in w.handset_display(IPUI)
    w.run(40)
    call_ids = {m["call_id"] for m in _subscribes(w)}
    assert len(call_ids) == 2, "a new subscription after the 481"
    w.at(41, lambda: w.menu(IPUI, DND_ON))
    w.run(50)
    assert w.handset_state(IPUI)["dnd"] is True and w.server_state("2001")["dnd"] is True


def test_terminated_rejected_is_not_retried():
    w = world()
    w.at(10, lambda: w.configure_server(fks=False))
    w.run(4000)
    terminated = [m for m in sip(w, name="NOTIFY") if m["subscription_state"].startswith("terminated")]
    assert terminated and "rejected" in terminated[0]["subscription_state"]
    assert len(_initial_attempts(w)) == 1


def test_terminated_deactivated_resubscribes_at_once():
    w = world()
    w.run(10)

    def deactivate():
        (sub_id,) = w.server.notifier.subscriptions_of("2001")
        w._server_driver.send(w.server.notifier.terminate(w.now, sub_id, "deactivated"))

    w.at(11, deactivate)
    w.run(20)
    attempts = _initial_attempts(w)
    assert len(attempts) == 2 and attempts[1] - 11 < 1.0


def _inject(w, data, source=("198.51.100.1", 5060), dm=1):
    w.send(w.system.receive_sip(w.now, dm, data, source))


def test_notify_for_no_dialog_gets_481():
    w = world()
    w.run(5)
    stray = (b"NOTIFY sip:2001@192.0.2.11:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bKx1\r\n"
             b"From: <sip:2001@as.example.com>;tag=zz\r\nTo: <sip:2001@as.example.com>;tag=yy\r\n"
             b"Call-ID: nobody@here\r\nCSeq: 1 NOTIFY\r\nEvent: as-feature-event\r\n"
             b"Subscription-State: active;expires=60\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
    w.at(6, lambda: _inject(w, stray))
    w.run(7)
    assert [m["status"] for m in sip(w, call_id="nobody@here", from_="base")] == [481]


@pytest.mark.parametrize(
    "body",
    [
        b"<DoNotDisturbEvent",  # not well-formed
        b'<DoNotDisturbEvent xmlns="urn:wrong"><device>d</device><doNotDisturbOn>true</doNotDisturbOn></DoNotDisturbEvent>',
        b'<Bogus xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3"><device>d</device></Bogus>',
        b"<DoNotDisturbEvent><device>d</device><doNotDisturbOn>true</doNotDisturbOn></DoNotDisturbEvent>",  # no xmlns
        b'<!DOCTYPE x [<!ENTITY a "aaaa">]><DoNotDisturbEvent xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3"><device>&a;</device><doNotDisturbOn>true</doNotDisturbOn></DoNotDisturbEvent>',
    ],
)
def test_unreadable_notify_body_gets_200_is_reported_and_changes_nothing(body):
    # Issue 12 §1: answered 200 (a 400 would cost the subscription, RFC 6665 §4.2.2), the part is
    # left out, and the base reports it (a trace line in the NOTIFY's body field, `world.reports`).
    w = world()
    w.run(5)
    # The server's last NOTIFY in this dialog, with a later CSeq and the bad body.
    logged = [e for e in w.log.entries if e.layer == "sip" and e.data.startswith(b"NOTIFY")][-1]
    notify = parse_message(logged.data)
    # As if the server had sent it: its dialog's next CSeq, so the server's own later NOTIFYs stay
    # in order (a lower CSeq gets 500, and a failed NOTIFY now costs the subscription).
    (subscription,) = w.server.subscriptions("2001")
    subscription.local_cseq += 1
    notify.headers.set("CSeq", f"{subscription.local_cseq} NOTIFY")
    notify.headers.set("Via", "SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bK-bad-body")
    notify.headers.set("Content-Type", "application/x-as-feature-event+xml")
    notify = type(notify)(method=notify.method, uri=notify.uri, headers=notify.headers, body=body)
    w.at(6, lambda: _inject(w, notify.to_bytes()))
    w.run(8)
    answers = [m for m in sip(w, from_="base", method="NOTIFY") if m["t"] >= 6]
    assert answers[0]["status"] == 200
    assert [text for t, user, text in w.reports if t >= 6 and user == "2001" and text.startswith("NOTIFY: ")]
    shown = body_elements(notify)   # what the trace line of such a NOTIFY says
    assert shown is not None and ("ignored" in shown or "refused" in shown)
    assert w.handset_state(IPUI) == FeatureState().as_json()
    w.at(9, lambda: w.menu(IPUI, DND_ON))
    w.run(15)
    assert w.handset_state(IPUI)["dnd"] is True, "the base kept running"


def test_notify_with_broken_multipart_framing_still_gets_400():
    w = world()
    w.run(5)
    logged = [e for e in w.log.entries if e.layer == "sip" and e.data.startswith(b"NOTIFY")][-1]
    notify = parse_message(logged.data)
    notify.headers.set("CSeq", "99 NOTIFY")
    notify.headers.set("Via", "SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bK-bad-framing")
    notify.headers.set("Content-Type", "multipart/mixed;boundary=abc")
    notify = type(notify)(method=notify.method, uri=notify.uri, headers=notify.headers,
                          body=b"--abc\r\nContent-Type: application/x-as-feature-event+xml\r\n\r\n<x/>\r\n")
    w.at(6, lambda: _inject(w, notify.to_bytes()))
    w.run(8)
    answers = [m for m in sip(w, from_="base", method="NOTIFY") if m["t"] >= 6]
    assert answers[0]["status"] == 400   # no closing delimiter: the framing is broken


def test_malformed_sip_and_dect_input_is_answered_and_survived():
    w = world()
    w.run(5)
    bad_expires = (b"SUBSCRIBE sip:2001@192.0.2.11 SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.1;branch=z9hG4bKq\r\n"
                   b"From: <sip:x@y>;tag=1\r\nTo: <sip:2001@as.example.com>\r\nCall-ID: bad-expires\r\n"
                   b"CSeq: 1 SUBSCRIBE\r\nMax-Forwards: 70\r\nExpires: soon\r\nContent-Length: 0\r\n\r\n")
    # A request too broken to answer (no Call-ID, no CSeq) is dropped; one that names itself gets 400.
    w.at(5.5, lambda: _inject(w, b"SUBSCRIBE sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.1;branch=z9hG4bKp\r\n\r\n"))
    w.at(6, lambda: _inject(w, bad_expires))
    w.at(7, lambda: _inject(w, bytes(range(256))))
    w.at(8, lambda: w.send(w.system.receive_dect(w.now, 1, str(IPUI), bytes.fromhex("05 54 05 09 80"))))
    w.at(9, lambda: w.menu(IPUI, DND_ON))
    w.run(15)
    assert [m["status"] for m in sip(w, from_="base") if 6 <= m["t"] < 7] == [400]
    assert dect(w, from_="base", name="LOCATE-REJECT") or any(
        m["t"] >= 8 and m["from"] == "base" for m in dect(w))
    assert w.handset_state(IPUI)["dnd"] is True
