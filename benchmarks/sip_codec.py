"""Benchmark: SIP messages parsed and serialized per second, fksim's `sip.message` against the
pure-Python PyPI parser `sipmessage`, measured in the same run on the same three messages (a
SUBSCRIBE, a 200 OK and a four-part NOTIFY).

One unit of work = parse the datagram, read the fields a user agent needs (all Via values, From,
To, Call-ID, CSeq, Content-Type), and serialize the message back to bytes. `sipmessage` parses
header values lazily, so reading the fields is what makes the work comparable: fksim validates
every known header while parsing (and caches the typed values), `sipmessage` does it on access.
Without field access (`--raw`) the comparison is parse + serialize only.

Usage: python benchmarks/sip_codec.py [--json] [--raw] [--seconds S]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sip.feature_event import (
    DoNotDisturbEvent,
    FeatureEvent,
    ForwardingEvent,
    ForwardingType,
    build_feature_body,
)
from sip.message import parse_message

SUBSCRIBE = (
    b"SUBSCRIBE sip:4001@as.example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport\r\n"
    b"Max-Forwards: 70\r\n"
    b'From: "Handset 1" <sip:4001@as.example.com>;tag=1928301774\r\n'
    b"To: <sip:4001@as.example.com>\r\n"
    b"Call-ID: a84b4c76e66710@192.0.2.10\r\n"
    b"CSeq: 314159 SUBSCRIBE\r\n"
    b"Contact: <sip:4001@192.0.2.10:5060>\r\n"
    b"Event: as-feature-event\r\n"
    b"Accept: application/x-as-feature-event+xml\r\n"
    b"Expires: 3600\r\n"
    b"Content-Length: 0\r\n\r\n"
)
OK_200 = (
    b"SIP/2.0 200 OK\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport=5060;received=192.0.2.10\r\n"
    b'From: "Handset 1" <sip:4001@as.example.com>;tag=1928301774\r\n'
    b"To: <sip:4001@as.example.com>;tag=as7f3e\r\n"
    b"Call-ID: a84b4c76e66710@192.0.2.10\r\n"
    b"CSeq: 314159 SUBSCRIBE\r\n"
    b"Expires: 3600\r\n"
    b"Contact: <sip:as.example.com:5060>\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def _notify() -> bytes:
    items: list[FeatureEvent] = [
        DoNotDisturbEvent(device="4001", on=False),
        ForwardingEvent(device="4001", forwarding_type=ForwardingType.CFA, status=True, forward_to="200"),
        ForwardingEvent(device="4001", forwarding_type=ForwardingType.CFB, status=False),
        ForwardingEvent(
            device="4001", forwarding_type=ForwardingType.CFNA, status=True, forward_to="300", ring_count=4
        ),
    ]
    content_type, body = build_feature_body(items, boundary="UniqueBroadWorksBoundary")
    head = (
        "NOTIFY sip:4001@192.0.2.10:5060 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKnashds8\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:4001@as.example.com>;tag=as7f3e\r\n"
        "To: <sip:4001@as.example.com>;tag=1928301774\r\n"
        "Call-ID: a84b4c76e66710@192.0.2.10\r\n"
        "CSeq: 2 NOTIFY\r\n"
        "Contact: <sip:as.example.com:5060>\r\n"
        "Event: as-feature-event\r\n"
        "Subscription-State: active;expires=3599\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


MESSAGES = [SUBSCRIBE, OK_200, _notify()]


def ours(data: bytes, fields: bool) -> bytes:
    m = parse_message(data)
    if fields:
        m.vias, m.from_, m.to, m.call_id, m.cseq, m.content_type  # noqa: B018
    return m.to_bytes()


def peer(data: bytes, fields: bool) -> bytes:
    from sipmessage import Message

    m = Message.parse(data)
    if fields:
        m.via, m.from_address, m.to_address, m.call_id, m.cseq, m.content_type  # noqa: B018
    return bytes(m)


def rate(work: Callable[[bytes, bool], bytes], fields: bool, seconds: float) -> float:
    """Messages per second, best of three timed rounds over the three messages."""
    for data in MESSAGES:
        work(data, fields)  # warm up and fail early
    best = 0.0
    for _ in range(3):
        count, start = 0, time.perf_counter()
        deadline = start + seconds / 3
        while (now := time.perf_counter()) < deadline:
            for _ in range(50):
                for data in MESSAGES:
                    work(data, fields)
            count += 50 * len(MESSAGES)
        best = max(best, count / (now - start))
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", action="store_true", help="print a JSON object only")
    parser.add_argument("--raw", action="store_true", help="parse + serialize only, no field access")
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time per parser")
    args = parser.parse_args()
    fields = not args.raw
    mine = rate(ours, fields, args.seconds)
    try:
        import sipmessage
    except ImportError:
        # The peer is an optional test extra; without it only our own figure can be given.
        print("sipmessage is not installed (pip install sipmessage): no peer figure", file=sys.stderr)
        result: dict[str, float | None] = {"msgs_per_s": round(mine), "peer_msgs_per_s": None, "ratio": None}
        print(json.dumps(result) if args.json else f"fksim sip.message {result['msgs_per_s']} msgs/s")
        return 0
    theirs = rate(peer, fields, args.seconds)
    result = {"msgs_per_s": round(mine), "peer_msgs_per_s": round(theirs), "ratio": round(mine / theirs, 3)}
    if args.json:
        print(json.dumps(result))
    else:
        mode = "parse + serialize" if args.raw else "parse + fields + serialize"
        print(f"{mode}, SUBSCRIBE / 200 OK / 4-part NOTIFY")
        print(f"  fksim sip.message      {result['msgs_per_s']:>9} msgs/s")
        print(f"  sipmessage {sipmessage.__version__:<11} {result['peer_msgs_per_s']:>9} msgs/s")
        print(f"  ratio                  {result['ratio']:>9}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
