"""Evaluating a scenario's expectations (spec/scenarios-and-cli.md §2 `expect:`) against a running world.

One responsibility: turn one `Expectation` and what the world shows into an `ExpectationResult` with a
message that says what was checked and, on failure, what was found instead.

- `handset`: the listed subset of the feature state the handset shows confirmed by the base, and a
  substring of its display; read at the expectation's time.
- `server`: the listed subset of a user's state on the application server; read at its time.
- `fks`: the gating verdict of a handset (`supported`, `active`, and `reason` as a case-insensitive
  substring, so `internal telephony` matches "internal telephony enabled"); read at its time.
- `sip` and `dect`: how many messages were sent in the window `from`/`since` .. `at`, both ends
  included. A message the simulated network then lost still counts: it was sent. A SIP `method`
  alone counts requests; with `status` it counts responses to requests of that method. `event`
  matches the Event header (for a response, that of its request); `body` is a substring of the body
  element names (`SetDoNotDisturb`, `DoNotDisturbEvent, ForwardingEvent, ...`). A DECT `from` of
  `base` matches the base and every DECT manager (`dm1`, `dm2`, ...).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from scenarios.results import ExpectationResult
from scenarios.spec import FEATURES, Expectation, FeatureState, Forward
from scenarios.world.world import World
from scenarios.yamlsrc import Count


def _json(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if value is None:
        return "null"
    return str(value)


def expected_fields(state: FeatureState) -> list[tuple[str, object]]:
    """The (dotted field, value) pairs a partial feature state asks for, in a fixed order."""
    out: list[tuple[str, object]] = []
    for feature in FEATURES:
        value = getattr(state, feature)
        if value is None:
            continue
        if isinstance(value, Forward):
            for name in ("active", "to", "rings"):
                if getattr(value, name) is not None:
                    out.append((f"{feature}.{name}", getattr(value, name)))
        else:
            out.append((feature, value))
    return out


def _lookup(actual: dict[str, Any], dotted: str) -> object:
    value: object = actual
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def compare_state(expected: FeatureState, actual: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(what held, what did not) for every field the expectation lists."""
    held: list[str] = []
    differ: list[str] = []
    for dotted, want in expected_fields(expected):
        got = _lookup(actual, dotted)
        if got == want:
            held.append(f"{dotted}={_json(want)}")
        else:
            differ.append(f"{dotted} is {_json(got)}, expected {_json(want)}")
    return held, differ


def _result(e: Expectation, passed: bool, message: str) -> ExpectationResult:
    return ExpectationResult(index=e.index, at=e.at, passed=passed, message=message)


def check_now(e: Expectation, world: World) -> ExpectationResult:
    """The expectations read from the world's current state (handset, server, fks)."""
    if e.kind == "handset":
        return _check_handset(e, world)
    if e.kind == "server":
        user = e.args["user"]
        held, differ = compare_state(e.args["state"], world.server_state(user))
        if differ:
            return _result(e, False, f"server user {user}: " + "; ".join(differ))
        return _result(e, True, f"server user {user} " + " ".join(held))
    if e.kind == "fks":
        return _check_fks(e, world)
    if e.kind == "call":
        return check_call(e, world.call_state(e.args["id"]))
    raise ValueError(f"{e.kind} expectations are counted over the log, not read now")


def _check_handset(e: Expectation, world: World) -> ExpectationResult:
    ipui = e.args["handset"]
    held: list[str] = []
    differ: list[str] = []
    if e.args["state"] is not None:
        held, differ = compare_state(e.args["state"], world.handset_state(ipui))
    wanted = e.args["display"]
    if wanted is not None:
        display = world.handset_display(ipui)
        if wanted.lower() in display.lower():
            held.append(f'display shows "{wanted}"')
        else:
            differ.append(f'display {display.replace(chr(10), " | ")!r} does not show "{wanted}"')
    if differ:
        return _result(e, False, f"handset {ipui}: " + "; ".join(differ))
    return _result(e, True, f"handset {ipui} " + " ".join(held))


def _check_fks(e: Expectation, world: World) -> ExpectationResult:
    ipui = e.args["handset"]
    verdict = world.verdict(ipui)
    reason_text = "none" if verdict.reason is None else f'"{verdict.reason}"'
    got = f"supported={_json(verdict.supported)} active={_json(verdict.active)} reason={reason_text}"
    differ: list[str] = []
    for name in ("supported", "active"):
        want = e.args[name]
        if want is not None and getattr(verdict, name) != want:
            differ.append(f"{name} is {_json(getattr(verdict, name))}, expected {_json(want)}")
    reason = e.args["reason"]
    if reason is not None and reason.lower() not in (verdict.reason or "").lower():
        differ.append(f'reason is {verdict.reason!r}, expected one containing "{reason}"')
    if differ:
        return _result(e, False, f"fks {ipui}: " + "; ".join(differ))
    return _result(e, True, f"fks {ipui} {got}")


# ------------------------------------------------------------------------------ counted over the log


_Events = dict[tuple[str, int, str], str | None]


def _request_events(messages: Iterable[dict[str, Any]]) -> _Events:
    """(Call-ID, CSeq, method) of each SIP request -> its Event package, to match responses."""
    return {(m["call_id"], m["cseq"], m["method"]): m["event"] for m in messages
            if m["layer"] == "sip" and m["status"] is None and m["name"] != "malformed"}


def _sip_matches(m: dict[str, Any], args: dict[str, Any], events: _Events) -> bool:
    if m["layer"] != "sip" or m["name"] == "malformed":
        return False
    method, status = args["method"], args["status"]
    if status is not None:
        if m["status"] != status or (method is not None and m["method"] != method):
            return False
    elif m["status"] is not None or m["name"] != method:
        return False
    if args["event"] is not None:
        event = m["event"] if m["status"] is None else \
            m["event"] or events.get((m["call_id"], m["cseq"], m["method"]))
        if event != args["event"]:
            return False
    return args["body"] is None or args["body"].lower() in (m["body"] or "").lower()


def _dect_matches(m: dict[str, Any], args: dict[str, Any]) -> bool:
    if m["layer"] != "dect" or m["name"] != args["message"]:
        return False
    sender = args["sender"]
    if sender is None:
        return True
    if sender == "base":
        return bool(m["from"] == "base" or m["from"].startswith("dm"))
    return bool(m["from"] == sender)


def _describe_sip(args: dict[str, Any]) -> str:
    parts = [args["method"] or "response"]
    if args["status"] is not None:
        parts = [f"{args['status']} to {args['method']}" if args["method"] else f"{args['status']} response"]
    if args["event"]:
        parts.append(f"event={args['event']}")
    if args["body"]:
        parts.append(f"body~{args['body']}")
    return "sip " + " ".join(parts)


def check_count(e: Expectation, at: float, messages: Sequence[dict[str, Any]]) -> ExpectationResult:
    """A `sip` or `dect` count over the messages sent in the window since..at (both included)."""
    args = e.args
    since = args["since"]
    window = [m for m in messages if since <= m["t"] <= at]
    if e.kind == "sip":
        events = _request_events(messages)
        n = sum(1 for m in window if _sip_matches(m, args, events))
        what = _describe_sip(args)
    else:
        n = sum(1 for m in window if _dect_matches(m, args))
        what = f"dect {args['message']}" + (f" from {args['sender']}" if args["sender"] else "")
    count: Count = args["count"]
    span = f"in {since:g}s..{at:g}s"
    if count.holds(n):
        return _result(e, True, f"{what}: {n} {span} (expected {count})")
    return _result(e, False, f"{what}: {n} {span}, expected {count}")


def not_evaluated(e: Expectation, why: str) -> ExpectationResult:
    return _result(e, False, f"not evaluated: {why}")


#: How far a call's outcome may be from the `after` a scenario names: one ring interval (spec §5).
AFTER_TOLERANCE = 6.0


def check_call(e: Expectation, got: dict[str, Any]) -> ExpectationResult:
    """A call expectation against the call as the world reads it at the expectation's time."""
    args = e.args
    label = args["id"]
    differ: list[str] = []
    if got["outcome"] != args["outcome"]:
        differ.append(f"outcome is {got['outcome']}, expected {args['outcome']}")
    for key in ("by", "to", "status"):
        want = args[key]
        if want is not None and got.get(key) != want:
            differ.append(f"{key} is {_json(got.get(key))}, expected {_json(want)}")
    after = args["after"]
    if after is not None and ("after" not in got or abs(got["after"] - after) > AFTER_TOLERANCE):
        seen = f"{got['after']:g}s" if "after" in got else "no outcome yet"
        differ.append(f"after is {seen}, expected {after:g}s (± {AFTER_TOLERANCE:g}s)")
    if differ:
        return _result(e, False, f"call {label}: " + "; ".join(differ))
    keys = ("outcome", "by", "to", "status", "after")
    held = " ".join(f"{key}={_json(got[key])}" for key in keys if key in got)
    return _result(e, True, f"call {label} {held}")
