"""The fuzz target `base-calls`: a simulated base (firmware, DECT manager, call desk, handset) takes
outside calls while the call datagrams the server sends it are mutated on the way, as a broken SBC
or an attacker who spoofs the server's address would. The run must never raise, and afterwards the
base must still work: once the handset has hung up whatever it still had, a clean call rings it and
is answered (no call, route or busy flag left behind by the hostile traffic). Two modes: with FKS
(the server decides what becomes of a call) and without it, the base forwarding on no answer by
itself (its own timer and 302).

The recorded, unmutated run gives the seeds: the server's call datagrams to the base (INVITE, ACK,
CANCEL, BYE, and its answers to the base's BYEs), numbered in the order the server sends them. An
input replaces some of them by mutated octets, drops some, and puts another seed after some.
"""

from __future__ import annotations

import functools
from typing import Any

from hypothesis import strategies as st

from dect.identity import Ipui
from fuzz.replacing import draw_replacements
from scenarios.world.world import SERVER_ADDRESS, World
from sip.state import FeatureState

IPUI = Ipui.parse("029e74a599")
USER = "2001"
#: The outside calls and what the handset does (time, action, argument): answered and ended by the
#: handset; answered and ended by the caller; cancelled by the caller; refused by the handset (END
#: while it rings); left ringing until the caller gives up.
SCRIPT: tuple[tuple[float, str, str], ...] = (
    (5.0, "call", "c1"), (8.0, "keys", "TALK"), (12.0, "keys", "END"),
    (20.0, "call", "c2"), (23.0, "keys", "TALK"), (27.0, "hangup", "c2"),
    (35.0, "call", "c3"), (38.0, "hangup", "c3"),
    (45.0, "call", "c4"), (47.0, "keys", "END"),
    (55.0, "call", "c5"),
)
#: The check after the hostile part: the handset hangs up whatever it has, then a clean call.
CLEAN_UP_AT, CHECK_AT, ANSWER_AT, END_AT = 140.0, 150.0, 153.0, 170.0
CALL_METHODS = (b" INVITE\r\n", b" ACK\r\n", b" CANCEL\r\n", b" BYE\r\n")


def _is_call_datagram(data: bytes) -> bool:
    """A request of a call, or a response to one (the CSeq line names the method)."""
    return any(b"CSeq: " in data and method in data for method in CALL_METHODS)


#: The two ways a base handles calls: with FKS (the server decides), and without it, the base timing
#: call forwarding on no answer itself (3 rings, then 302 Moved Temporarily; docs/firmware.md).
MODES = ("fks", "local-cfna")
CFNA = (["Menu", "Select services", "Call divert", "No answer"], {"Status": "On", "Number": "3002", "Rings": 3})


def _world(mode: str) -> World:
    world = World("N870", seed=1)
    world.add_user(USER, state=FeatureState())
    world.add_handset(IPUI, USER, feature_key_sync=mode == "fks")
    return world


def _intercept(world: World, plan: dict[int, list[bytes]] | None, seen: list[bytes]) -> None:
    """The k-th call datagram from the server to the base before the clean-up is recorded in `seen`
    and, when `plan` has k, replaced by the plan's datagrams (none: dropped). The check's call is
    neither touched nor a seed."""
    send = world.net.send
    base = world.system.addresses.dect_managers[0]

    def mutating(src: Any, dst: Any, data: bytes, transport: str = "UDP") -> None:
        if src == SERVER_ADDRESS and dst == base and world.env.now < CLEAN_UP_AT and _is_call_datagram(data):
            k = len(seen)
            seen.append(data)
            if plan is not None and k in plan:
                for replacement in plan[k]:
                    send(src, dst, replacement, transport)
                return
        send(src, dst, data, transport)

    world.net.send = mutating   # type: ignore[method-assign]


#: Identifiers the server draws before the check (the recorded run draws 27 in all).
SKIPPED_IDS = 10_000


def _unseen_identifiers(world: World) -> None:
    """Move the server's identifiers past any the recorded run used. They come from a keyed hash of
    a counter, and the inputs replay recorded datagrams: where the hostile traffic made the server
    draw fewer identifiers, the check call would otherwise get the Call-ID and branch of a recorded
    INVITE the plan already sent, and be rightly answered as its retransmission. A real attacker
    cannot predict the server's identifiers (sip/ids.py)."""
    for _ in range(SKIPPED_IDS):
        world.server.ids()


def _act(world: World, action: str, argument: str) -> None:
    if action == "call":
        world.call(argument, "0301234", USER)
    elif action == "hangup":
        world.hangup(argument)
    else:
        world.keys(IPUI, [argument])


def run_calls(mode: str, plan: dict[int, list[bytes]] | None) -> tuple[World, list[bytes]]:
    """The script with `plan` applied, then the clean-up and the clean call; the world and the
    server's call datagrams as sent (before replacement). The clean call is answered on the third
    second, before any forwarding on no answer."""
    world = _world(mode)
    seen: list[bytes] = []
    _intercept(world, plan, seen)
    world.start()
    if mode == "local-cfna":
        world.at(2.0, lambda: world.menu(IPUI, *CFNA))
    for when, action, argument in SCRIPT:
        world.at(when, functools.partial(_act, world, action, argument))
    world.at(CLEAN_UP_AT, lambda: world.keys(IPUI, ["END"]))   # on the idle screen: nothing
    world.at(CLEAN_UP_AT, lambda: _unseen_identifiers(world))
    world.at(CHECK_AT, lambda: world.call("check", "0301234", USER))
    world.at(ANSWER_AT, lambda: world.keys(IPUI, ["TALK"]))
    world.at(END_AT - 5.0, lambda: world.keys(IPUI, ["END"]))
    world.run(END_AT)
    return world, seen


@functools.cache
def recorded_datagrams(mode: str) -> tuple[bytes, ...]:
    """The server's call datagrams to the base in the unmutated run, before the clean-up (the seeds)."""
    return tuple(run_calls(mode, None)[1])


def plans(mutated: Any, others: st.SearchStrategy[bytes]) -> st.SearchStrategy[tuple[str, dict[int, list[bytes]]]]:
    """Inputs: a mode, and for some of its recorded datagrams what goes to the base instead (a
    mutated copy; nothing; or the mutated copy and another seed)."""

    @st.composite
    def plan(draw: st.DrawFn) -> tuple[str, dict[int, list[bytes]]]:
        mode = draw(st.sampled_from(MODES))
        return mode, draw_replacements(draw, recorded_datagrams(mode), mutated, others)

    return plan()


def check_base_calls(value: tuple[str, dict[int, list[bytes]]]) -> None:
    mode, plan = value
    world, _ = run_calls(mode, plan)
    state = world.call_state("check")
    if state.get("outcome") != "answered":
        raise AssertionError(f"after the hostile calls, a clean call was not answered: {state}")
