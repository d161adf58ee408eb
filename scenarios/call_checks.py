"""Validating what a scenario's steps do to handsets and calls (docs/scenarios.md "Calls").

One responsibility: read `call: {from, to, id}` and `hangup: ID` steps and `call: {id, outcome, by, to,
status, after}` expectations into plain arguments, and check a `menu:` path against the handset
type's menu tree, with every problem reported at its file and line through the validator's
`Checker` (unknown users, handsets and call ids, a call id used twice, a malformed number, a menu
entry the handset does not have), so `fksim check` lists them all in one pass.
"""

from __future__ import annotations

from typing import Any, Protocol

from dect.errors import DectError
from dect.handset import Handset
from dect.identity import Ipui
from models.errors import ConfigError
from models.handset_types import get_handset_type
from scenarios.yamlsrc import Node, clip, suggest

#: The outcomes a call expectation may name (`ringing`: offered, no final outcome yet).
OUTCOMES = ("answered", "forwarded", "rejected", "unanswered", "ringing")
CALL_STEP_KEYS = ("from", "to", "id")
CALL_EXPECT_KEYS = ("id", "outcome", "by", "to", "status", "after")
#: What a caller's number may hold: digits, * # and a leading + (a SIP user part, RFC 3261 §25.1).
_NUMBER = frozenset("0123456789*#+")


class _Reader(Protocol):
    ipuis: set[Ipui]
    types: dict[Ipui, str | None]
    users: set[str]
    call_ids: dict[str, str]   # id -> where it was placed ("line 12")

    def fail(self, node: Node, message: str) -> None: ...

    def mapping(self, node: Node, allowed: tuple[str, ...],
                required: tuple[str, ...] = ()) -> dict[str, Node]: ...

    def text(self, node: Node) -> str | None: ...

    def integer(self, node: Node, low: int, high: int) -> int | None: ...

    def time(self, node: Node) -> float | None: ...

    def ipui(self, node: Node) -> Ipui | None: ...


def _number(r: _Reader, node: Node, what: str) -> str | None:
    text = r.text(node)
    if text is not None and (not text or any(ch not in _NUMBER for ch in text)):
        r.fail(node, f'"{clip(text)}" is not a {what} (digits, *, # and a leading +)')
        return None
    return text


def call_step(r: _Reader, node: Node) -> dict[str, Any] | None:
    """`call: {from: "3005", to: "2001", id: c1}`: an outside caller calls a user of the server."""
    m = r.mapping(node, CALL_STEP_KEYS, required=CALL_STEP_KEYS)
    caller = _number(r, m["from"], "caller's number") if "from" in m else None
    user = r.text(m["to"]) if "to" in m else None
    if user is not None and user not in r.users:
        r.fail(m["to"], f'unknown user "{clip(user)}"{suggest(user, tuple(sorted(r.users)))}')
        user = None
    label = r.text(m["id"]) if "id" in m else None
    if label is not None:
        if not label:
            r.fail(m["id"], "a call id is a non-empty name such as c1")
            label = None
        elif label in r.call_ids:
            r.fail(m["id"], f'call id "{clip(label)}" is already used at {r.call_ids[label]}')
            label = None
        else:
            r.call_ids[label] = f"line {m['id'].line}"
    if caller is None or user is None or label is None:
        return None
    return {"caller": caller, "user": user, "id": label}


def call_ref(r: _Reader, node: Node) -> str | None:
    label = r.text(node)
    if label is not None and label not in r.call_ids:
        known = tuple(sorted(r.call_ids))
        hint = suggest(label, known) if known else " (no step places a call: add `call: {from, to, id}`)"
        r.fail(node, f'unknown call id "{clip(label)}"{hint}')
        return None
    return label


def hangup_step(r: _Reader, node: Node) -> dict[str, Any] | None:
    """`hangup: c1`: the outside caller of call c1 hangs up."""
    label = call_ref(r, node)
    return None if label is None else {"id": label}


def call_expectation(r: _Reader, node: Node) -> dict[str, Any] | None:
    """`call: {id: c1, outcome: forwarded, by: server, to: "3000", status: 302, after: 24s}`."""
    m = r.mapping(node, CALL_EXPECT_KEYS, required=("id", "outcome"))
    label = call_ref(r, m["id"]) if "id" in m else None
    outcome = r.text(m["outcome"]) if "outcome" in m else None
    if outcome is not None and outcome not in OUTCOMES:
        r.fail(m["outcome"], f'unknown outcome "{clip(outcome)}"{suggest(outcome, OUTCOMES)}')
        outcome = None
    by: str | None = None
    if "by" in m:
        text = r.text(m["by"])
        if text in ("server", "base"):
            by = text
        elif text is not None:
            ipui = r.ipui(m["by"])
            if ipui is not None and ipui not in r.ipuis:
                known = tuple(str(i) for i in sorted(r.ipuis))
                r.fail(m["by"], f'unknown handset "{clip(text)}" (by: a handset, server or base)'
                                f'{suggest(text, known)}')
                return None
            by = None if ipui is None else str(ipui)
            if by is None:
                return None
    args: dict[str, Any] = {
        "id": label,
        "outcome": outcome,
        "by": by,
        "to": _number(r, m["to"], "forwarding target") if "to" in m else None,
        "status": r.integer(m["status"], 300, 699) if "status" in m else None,
        "after": r.time(m["after"]) if "after" in m else None,
    }
    return None if label is None or outcome is None else args


def check_menu_path(r: _Reader, node: Node, ipui: Ipui, args: dict[str, Any]) -> bool:
    """The path compiles to keys on the handset's type (from its idle screen, features off); an
    unknown handset type is left to the runner, which names it per model."""
    try:
        handset_type = get_handset_type(r.types.get(ipui))
    except ConfigError:
        return True
    form = args["form"]
    path = [*args["path"], form] if form is not None else list(args["path"])
    try:
        Handset(ipui, handset_type).compile_menu(path)
    except DectError as err:
        r.fail(node, str(err))
        return False
    return True
