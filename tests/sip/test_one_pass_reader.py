"""parse_message's one-pass header reader against the two passes it stands in for.

`sip.message._read_and_check` reads the header lines and checks their values in one pass, and hands
anything it rejects to the line reader and `Message.validate`, so that the error raised stays
theirs. These tests parse the same octets both ways (the one pass switched off by making it reject
everything) and require the same outcome: the same error and status, or the same typed values and
the same serialized message.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from fuzz.corpus import sip_messages
from hypothesis import given, settings
from hypothesis import strategies as st

from sip import message as message_module
from sip.errors import RemoteProtocolError
from sip.header_checks import Irregular
from sip.message import parse_message

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from sip_codec import fleet_mix


def _outcome(data: bytes) -> tuple[Any, ...]:
    try:
        m = parse_message(data)
    except RemoteProtocolError as err:
        return ("error", err.status, str(err))
    typed = (
        m.vias, m.from_, m.to, m.call_id, m.cseq, m.contacts, m.routes, m.record_routes, m.expires,
        m.min_expires, m.max_forwards, m.event, m.subscription_state, m.content_type, m.retry_after,
        m.allow_events,
    )  # fmt: skip
    return ("ok", m.to_bytes(), m.headers, repr(typed))


def _two_passes(lines: list[str], headers: Any) -> str | None:
    raise Irregular


def _both_ways(data: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    one = _outcome(data)
    with monkeypatch.context() as patch:
        patch.setattr(message_module, "_read_and_check", _two_passes)
        two = _outcome(data)
    return one, two


#: What the edits are made of: the characters the grammar turns on, and header names and words.
_PIECES = (
    *'abZ09:;,<>"\\ \t=@.-/*?\x0b', "sip:", "Via", "To", "From", "CSeq", "Contact", "Content-Length",
    "Call-ID", "Max-Forwards", "Event", "Date", "Allow", "Content-Type", "Subscription-State", "Route",
    "SUBSCRIBE", "tag=",
)
_BASES = (*fleet_mix(size=3, users=1), *sip_messages()[:40])


def test_the_corpus_and_the_benchmark_mix_parse_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    for data in (*sip_messages(), *fleet_mix(size=60)):
        one, two = _both_ways(data, monkeypatch)
        assert one == two, data[:200]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(_BASES),
    st.lists(
        st.tuples(
            st.sampled_from(("replace", "duplicate", "insert", "drop")),
            st.integers(min_value=0, max_value=40),
            st.lists(st.sampled_from(_PIECES), max_size=8).map("".join),
        ),
        min_size=1, max_size=3,
    ),
)  # fmt: skip
def test_mutated_messages_parse_alike(base: bytes, edits: list[tuple[str, int, str]]) -> None:
    head, sep, body = base.partition(b"\r\n\r\n")
    lines = head.decode("utf-8", "replace").split("\r\n")
    for op, index, text in edits:
        i = 1 + index % max(1, len(lines) - 1)
        if op == "replace" and i < len(lines):
            name = lines[i].partition(":")[0]
            lines[i] = f"{name}:{text}" if index % 2 else text
        elif op == "duplicate" and i < len(lines):
            lines.insert(i, lines[i])
        elif op == "insert":
            lines.insert(i, text)
        elif op == "drop" and i < len(lines):
            del lines[i]
    data = "\r\n".join(lines).encode() + sep + body
    with pytest.MonkeyPatch.context() as monkeypatch:
        one, two = _both_ways(data, monkeypatch)
    assert one == two
