"""Benchmark: SIP messages parsed and serialized per second, fksim's `sip.message` against the
pure-Python PyPI parser `sipmessage`, measured in the same run on the same input.

The input looks like the traffic a fleet puts on the AS (benchmarks/README.md): 30,000 distinct
datagrams, the SUBSCRIBE, 200 OK and four-part NOTIFY of dialogs of 20,000 users, each dialog with
its own Via branch, tags, Call-ID and CSeq. fksim memoises parsed header values, so a benchmark that
repeats the same octets measures its caches, not its parser: that figure (`repeated_*`) is printed
beside the headline, never as it.

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
import random
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

#: Users in the fleet whose traffic the mix imitates (the fleet benchmark's Virtual Integrator).
FLEET_USERS = 20_000
#: Distinct messages in the mix: more than any of the parser's memo tables holds, so that a value
#: that differs per dialog is never served from a cache, as in a fleet.
MIX_SIZE = 30_000


def _notify_body() -> tuple[str, bytes]:
    items: list[FeatureEvent] = [
        DoNotDisturbEvent(device="4001", on=False),
        ForwardingEvent(device="4001", forwarding_type=ForwardingType.CFA, status=True, forward_to="200"),
        ForwardingEvent(device="4001", forwarding_type=ForwardingType.CFB, status=False),
        ForwardingEvent(
            device="4001", forwarding_type=ForwardingType.CFNA, status=True, forward_to="300", ring_count=4
        ),
    ]
    return build_feature_body(items, boundary="UniqueBroadWorksBoundary")


def _dialog(rng: random.Random, user: int) -> dict[str, str]:
    """The values that differ per dialog and per transaction in real traffic, for one user: random
    hex as real stacks write them (a Via branch, tags, a Call-ID, a CSeq number)."""
    def hexa(n: int) -> str:
        return f"{rng.getrandbits(4 * n):0{n}x}"

    host = f"192.0.2.{10 + user % 200}"
    port = 5060 + (user // 200) % 80        # the DECT manager's port: 80 managers as in the fleet
    return {
        "user": str(4000 + user), "host": host, "port": str(port),
        "branch": hexa(16), "branch2": hexa(16), "ftag": hexa(16), "ttag": hexa(16),
        "callid": f"{hexa(16)}@{host}", "cseq": str(rng.randint(1, 40_000)),
        "ncseq": str(rng.randint(1, 200)), "expires": str(rng.choice((3600, 3599, 3540, 1800))),
    }


SUBSCRIBE = (
    "SUBSCRIBE sip:{user}@as.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bK{branch};rport\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:{user}@as.example.com>;tag={ftag}\r\n"
    "To: <sip:{user}@as.example.com>\r\n"
    "Call-ID: {callid}\r\n"
    "CSeq: {cseq} SUBSCRIBE\r\n"
    "Contact: <sip:{user}@{host}:{port}>\r\n"
    "Event: as-feature-event\r\n"
    "Accept: application/x-as-feature-event+xml\r\n"
    "Expires: 3600\r\n"
    "User-Agent: Gigaset N870 IP PRO/83.V2.20.0\r\n"
    "Content-Length: 0\r\n\r\n"
)
OK_200 = (
    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bK{branch};rport={port};received={host}\r\n"
    "From: <sip:{user}@as.example.com>;tag={ftag}\r\n"
    "To: <sip:{user}@as.example.com>;tag={ttag}\r\n"
    "Call-ID: {callid}\r\n"
    "CSeq: {cseq} SUBSCRIBE\r\n"
    "Expires: {expires}\r\n"
    "Contact: <sip:as.example.com:5060>\r\n"
    "Content-Length: 0\r\n\r\n"
)
NOTIFY_HEAD = (
    "NOTIFY sip:{user}@{host}:{port} SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK{branch2}\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:{user}@as.example.com>;tag={ttag}\r\n"
    "To: <sip:{user}@as.example.com>;tag={ftag}\r\n"
    "Call-ID: {callid}\r\n"
    "CSeq: {ncseq} NOTIFY\r\n"
    "Contact: <sip:as.example.com:5060>\r\n"
    "Event: as-feature-event\r\n"
    "Subscription-State: active;expires={expires}\r\n"
    "Content-Type: {ctype}\r\n"
    "Content-Length: {length}\r\n\r\n"
)


def fleet_mix(size: int = MIX_SIZE, users: int = FLEET_USERS, seed: int = 1) -> list[bytes]:
    """`size` datagrams as an AS and a fleet of `users` exchange them: SUBSCRIBE, its 200 OK and the
    four-part NOTIFY of one dialog in turn, each dialog of a user drawn at random, with its own
    branch, tags, Call-ID and CSeq. What repeats in a fleet repeats here (Event, Content-Type,
    Max-Forwards, a user's URIs); nothing else does."""
    rng = random.Random(seed)
    ctype, body = _notify_body()
    out: list[bytes] = []
    while len(out) < size:
        d = _dialog(rng, rng.randrange(users))
        out.append(SUBSCRIBE.format(**d).encode())
        out.append(OK_200.format(**d).encode())
        out.append(NOTIFY_HEAD.format(**d, ctype=ctype, length=len(body)).encode() + body)
    return out[:size]


def repeated_mix() -> list[bytes]:
    """The former input: one dialog's three messages, the same octets every time (every memo hits)."""
    return fleet_mix(size=3, users=1)


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


def rate(work: Callable[[bytes, bool], bytes], mix: list[bytes], fields: bool, seconds: float) -> float:
    """Messages per second over whole passes of `mix` (at least one) for about `seconds`."""
    for data in mix[:3]:
        work(data, fields)  # fail early
    done, start = 0, time.perf_counter()
    while True:
        for data in mix:
            work(data, fields)
        done += len(mix)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed


#: Rounds per parser: a busy machine only ever slows a round, so the best of several short rounds,
#: the two parsers' interleaved, is the figure least bent by a neighbour's load.
ROUNDS = 5


def measure(mix: list[bytes], fields: bool, seconds: float, peer_ok: bool) -> tuple[float, float | None]:
    """Best of ROUNDS rounds each (a round is at least one whole pass of `mix`), the two parsers'
    rounds interleaved so that a noisy neighbour on the machine weighs on both alike."""
    mine: list[float] = []
    theirs: list[float] = []
    for _ in range(ROUNDS):
        mine.append(rate(ours, mix, fields, seconds / ROUNDS))
        if peer_ok:
            theirs.append(rate(peer, mix, fields, seconds / ROUNDS))
    return max(mine), (max(theirs) if theirs else None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", action="store_true", help="print a JSON object only")
    parser.add_argument("--raw", action="store_true", help="parse + serialize only, no field access")
    parser.add_argument("--seconds", type=float, default=4.0, help="measuring time per parser and mix")
    args = parser.parse_args()
    fields = not args.raw
    try:
        import sipmessage
        peer_ok = True
    except ImportError:
        # The peer is an optional test extra; without it only our own figures can be given.
        print("sipmessage is not installed (pip install sipmessage): no peer figure", file=sys.stderr)
        peer_ok = False
    fleet = fleet_mix()
    mine, theirs = measure(fleet, fields, args.seconds, peer_ok)
    rep_mine, rep_theirs = measure(repeated_mix(), fields, args.seconds / 2, peer_ok)
    result: dict[str, object] = {
        "msgs_per_s": round(mine),
        "peer_msgs_per_s": round(theirs) if theirs else None,
        "ratio": round(mine / theirs, 3) if theirs else None,
        "repeated_msgs_per_s": round(rep_mine),
        "repeated_peer_msgs_per_s": round(rep_theirs) if rep_theirs else None,
        "repeated_ratio": round(rep_mine / rep_theirs, 3) if rep_theirs else None,
        "mix_messages": len(fleet),
        "fleet_users": FLEET_USERS,
    }
    if args.json:
        print(json.dumps(result))
        return 0
    mode = "parse + serialize" if args.raw else "parse + fields + serialize"
    version = sipmessage.__version__ if peer_ok else "(absent)"
    print(f"{mode}: SUBSCRIBE / 200 OK / 4-part NOTIFY dialogs of {FLEET_USERS:,} users, "
          f"{len(fleet):,} distinct datagrams")
    print(f"  fksim sip.message      {result['msgs_per_s']:>9} msgs/s")
    print(f"  sipmessage {version:<11} {result['peer_msgs_per_s']!s:>9} msgs/s")
    print(f"  ratio (headline)       {result['ratio']!s:>9}")
    print("  the same three datagrams over and over (every memo hits): "
          f"fksim {result['repeated_msgs_per_s']}, sipmessage {result['repeated_peer_msgs_per_s']}, "
          f"ratio {result['repeated_ratio']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
