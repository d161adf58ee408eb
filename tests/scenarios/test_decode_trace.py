"""Naming logged messages for the result file, and the text trace built from them."""

from scenarios.trace import format_message, format_trace
from scenarios.world.decode import message_json
from scenarios.world.log import LogEntry
from support.golden import BASE, LOCATE, NOTIFY, OK, SERVER, SUBSCRIBE


def test_sip_request_fields():
    m = message_json(LogEntry(0, 1.0, "sip", "base", "server", SUBSCRIBE, BASE, SERVER))
    assert m == {"t": 1.0, "layer": "sip", "from": "base", "to": "server", "name": "SUBSCRIBE", "status": None,
                 "method": "SUBSCRIBE", "event": "as-feature-event", "call_id": "c1@192.0.2.10", "cseq": 1,
                 "body": None, "expires": 3600}


def test_sip_response_and_multipart_notify_fields():
    ok = message_json(LogEntry(1, 1.02, "sip", "server", "base", OK, SERVER, BASE))
    assert (ok["name"], ok["status"], ok["method"]) == ("200 OK", 200, "SUBSCRIBE")
    notify = message_json(LogEntry(2, 1.03, "sip", "server", "base", NOTIFY, SERVER, BASE, lost=True))
    assert notify["body"] == "DoNotDisturbEvent" and notify["lost"] is True
    assert notify["subscription_state"].startswith("active")


def test_malformed_datagram_is_listed_not_lost():
    m = message_json(LogEntry(3, 2.0, "sip", "x", "server", b"GARBAGE\r\n\r\n", BASE, SERVER))
    assert m["name"] == "malformed" and "400" in m["error"]


def test_dect_fields():
    m = message_json(LogEntry(4, 0.5, "dect", "handset:029e74a599", "base", LOCATE))
    assert m["name"] == "LOCATE-REQUEST" and m["hex"] == "05 54 05 07 80 A8 02 9E 74 A5 99"
    assert m["ies"][0]["ipui"] == "029e74a599"
    bad = message_json(LogEntry(5, 0.6, "dect", "handset:029e74a599", "base", b"\x05"))
    assert bad["name"] == "malformed" and bad["hex"] == "05"


def test_trace_lines():
    sub = message_json(LogEntry(0, 1.0, "sip", "base", "server", SUBSCRIBE, BASE, SERVER))
    line = format_message(sub)
    assert line.startswith("  1.000000  sip   base -> server")
    assert "SUBSCRIBE" in line and "cseq=1 SUBSCRIBE event=as-feature-event expires=3600" in line
    loc = format_message(message_json(LogEntry(1, 0.5, "dect", "handset:029e74a599", "base", LOCATE)))
    assert "LOCATE-REQUEST" in loc and "PORTABLE-IDENTITY(type=IPUI, ipui=029e74a599" in loc


def test_trace_document_has_verdicts_and_no_wall_time():
    text = format_trace("t", "N670", 7, [], [{"index": 0, "at": 8.0, "passed": True, "message": "ok"},
                                             {"index": 1, "at": None, "passed": False, "message": "no"}], False)
    assert text.splitlines() == ["# t", "# model N670, seed 7", "", "", "PASS  [0] at 8s: ok",
                                 "FAIL  [1] at end: no", "FAILED"]
