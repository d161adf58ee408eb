"""The readable ladder of a run (`fksim run --trace`): one line per message, then the verdicts.

Each line: simulated time, sender -> receiver, message name, and the fields an engineer looks at
first (SIP: CSeq, Event, Subscription-State, Expires, body elements; DECT: the information elements
with their decoded values). Lost datagrams are marked. Wall-clock time never appears, so a trace is
the same for the same scenario and seed and can be kept as a golden file.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: Fields of a decoded DECT IE that only repeat what the name and id already say.
_IE_SKIP = {"name", "id"}


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str):
        return value.replace("\r", "\\r").replace("\n", "\\n")   # one message, one line
    return str(value)


def _ie(ie: dict[str, Any]) -> str:
    fields = [f"{k}={_value(v)}" for k, v in ie.items() if k not in _IE_SKIP]
    return f"{ie['name']}({', '.join(fields)})" if fields else str(ie["name"])


def sip_details(message: dict[str, Any]) -> str:
    parts = []
    if message.get("cseq") is not None:
        parts.append(f"cseq={message['cseq']} {message['method']}")
    for key in ("event", "subscription_state", "expires", "body", "route", "error"):
        if message.get(key) is not None:
            parts.append(f"{key.replace('_', '-')}={message[key]}")
    return " ".join(parts)


def dect_details(message: dict[str, Any]) -> str:
    if "error" in message:
        return f"error={message['error']} hex={message['hex']}"
    return " ".join(_ie(ie) for ie in message.get("ies", []))


def format_message(message: dict[str, Any]) -> str:
    details = sip_details(message) if message["layer"] == "sip" else dect_details(message)
    lost = "  [lost]" if message.get("lost") else ""
    route = f"{message['from']} -> {message['to']}"
    line = f"{message['t']:10.6f}  {message['layer']:4}  {route:40}  {message['name']:24}  {details}{lost}"
    return line.rstrip()


def format_notice(notice: dict[str, Any]) -> str:
    """A line of the base's system log, between the messages of the ladder."""
    return f"{notice['t']:10.6f}  note  {notice['from']:40}  {notice['text']}".rstrip()


def format_trace(title: str, model: str, seed: int, messages: Iterable[dict[str, Any]],
                 expectations: Iterable[dict[str, Any]], passed: bool, *, error: str | None = None,
                 notices: Iterable[dict[str, Any]] = ()) -> str:
    lines = [f"# {title}", f"# model {model}, seed {seed}", ""]
    pending = sorted(notices, key=lambda n: n["t"])  # stable: log order within one instant
    for m in messages:
        while pending and pending[0]["t"] <= m["t"]:
            lines.append(format_notice(pending.pop(0)))
        lines.append(format_message(m))
    lines += [format_notice(n) for n in pending]
    lines.append("")
    for e in expectations:
        at = "end" if e["at"] is None else f"{e['at']:g}s"
        lines.append(f"{'PASS' if e['passed'] else 'FAIL'}  [{e['index']}] at {at}: {e['message']}")
    if error is not None:
        lines += [f"ERROR {line}" for line in error.splitlines()]
    lines.append(f"{'PASSED' if passed else 'FAILED'}")
    return "\n".join(lines) + "\n"
