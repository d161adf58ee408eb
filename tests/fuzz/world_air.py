"""The fuzz target `base-air`: a simulated base gets a handset's NWK frames mutated on the air (a
faulty handset, or a radio that lets bit errors through): locating with authentication, feature
changes from the menu (CISS), an incoming call answered and ended (CC), the base's indications
closed. The run must never raise, and the base must go on serving its other handsets: afterwards a
second handset's Do Not Disturb from the menu reaches the server.

The seeds are the first handset's frames to the base in the recorded, unmutated run, numbered in
the order it sends them; an input replaces some by mutated octets, drops some, or puts another
DECT seed after them.
"""

from __future__ import annotations

import functools
from typing import Any

from hypothesis import strategies as st

from dect.identity import Ipui
from fuzz.replacing import draw_replacements
from scenarios.world.world import World
from sip.state import FeatureState

HOSTILE = Ipui.parse("029e74a599")
CLEAN = Ipui.parse("029e74a5a0")
DND_ON = ["Menu", "Select services", "Do not disturb", "On"]
CFA_ON = (["Menu", "Select services", "Call divert", "All calls"], {"Status": "On", "Number": "3000"})
#: What the first handset does (its frames are the ones mutated), then the check with the second.
CLEAN_UP_AT, CHECK_AT, END_AT = 60.0, 70.0, 90.0


def _world() -> World:
    world = World("N870", seed=1)
    for user, ipui in (("2001", HOSTILE), ("2002", CLEAN)):
        world.add_user(user, state=FeatureState())
        world.add_handset(ipui, user, feature_key_sync=True)
    return world


def _intercept(world: World, plan: dict[int, list[bytes]] | None, seen: list[bytes]) -> None:
    """The k-th frame of the first handset to the base before the clean-up is recorded in `seen`
    and, when `plan` has k, replaced by the plan's frames (none: dropped)."""
    send = world.air.send
    name = world.handsets[HOSTILE].name

    def mutating(src: str, dst: str, data: bytes, deliver: Any, *, bformat: bool = False) -> None:
        if src == name and world.env.now < CLEAN_UP_AT:
            k = len(seen)
            seen.append(data)
            if plan is not None and k in plan:
                for replacement in plan[k]:
                    send(src, dst, replacement, deliver, bformat=bformat)
                return
        send(src, dst, data, deliver, bformat=bformat)

    world.air.send = mutating   # type: ignore[method-assign]


def run_air(plan: dict[int, list[bytes]] | None) -> tuple[World, list[bytes]]:
    world = _world()
    seen: list[bytes] = []
    _intercept(world, plan, seen)
    world.start()
    steps = (
        (3.0, lambda: world.call("c1", "0301234", "2001")),
        (5.0, lambda: world.keys(HOSTILE, ["TALK"])),
        (9.0, lambda: world.keys(HOSTILE, ["END"])),
        (12.0, lambda: world.menu(HOSTILE, DND_ON)),
        (20.0, lambda: world.menu(HOSTILE, CFA_ON[0], CFA_ON[1])),
        (30.0, lambda: world.portal("2001", {"dnd": False})),   # an indication the handset closes
        (40.0, lambda: world.menu(HOSTILE, DND_ON)),
        (CHECK_AT, lambda: world.menu(CLEAN, DND_ON)),
    )
    for when, action in steps:
        world.at(when, action)
    world.run(END_AT)
    return world, seen


@functools.cache
def recorded_frames() -> tuple[bytes, ...]:
    """The first handset's frames to the base in the unmutated run, before the clean-up (the seeds)."""
    return tuple(run_air(None)[1])


def plans(mutated: Any, others: st.SearchStrategy[bytes]) -> st.SearchStrategy[dict[int, list[bytes]]]:
    """Inputs: for some of the recorded frames, what goes to the base instead (a mutated copy;
    nothing; or the mutated copy and another DECT seed)."""

    @st.composite
    def plan(draw: st.DrawFn) -> dict[int, list[bytes]]:
        return draw_replacements(draw, recorded_frames(), mutated, others)

    return plan()


def check_base_air(plan: dict[int, list[bytes]]) -> None:
    world, _ = run_air(plan)
    dnd = world.server_state("2002").get("dnd")
    if dnd is not True:
        raise AssertionError(f"after the hostile frames, another handset's DND did not reach the server: {dnd}")
