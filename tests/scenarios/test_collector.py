"""The collector settings for simulations: what they change, that they give everything back, and the
fact the bounded policy rests on (a running fleet makes no reference cycles)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from dect.identity import Ipui
from scenarios.world.collector import (
    OLD_GENERATION_THRESHOLD,
    collector_for_bounded_run,
    collector_for_long_runs,
)
from scenarios.world.world import World


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def _cycle() -> weakref.ref[Node]:
    """A pair that only the cyclic collector can free; the reference tells when it has."""
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


@pytest.fixture(autouse=True)
def collector_as_found() -> Iterator[None]:
    before = (gc.isenabled(), gc.get_threshold(), gc.get_freeze_count())
    yield
    assert (gc.isenabled(), gc.get_threshold(), gc.get_freeze_count()) == before


def test_bounded_run_collects_nothing_until_its_end_then_its_own_cycles() -> None:
    with collector_for_bounded_run():
        assert not gc.isenabled()
        assert gc.get_freeze_count() > 0   # what existed before is not walked at the end
        pair = _cycle()
        assert pair() is not None   # nothing collects it during the run
    assert gc.isenabled()
    assert pair() is None           # the run's end did


def test_bounded_run_gives_everything_back_after_an_error() -> None:
    with pytest.raises(RuntimeError), collector_for_bounded_run():
        raise RuntimeError("boom")


def test_bounded_runs_nest() -> None:
    with collector_for_bounded_run():
        frozen = gc.get_freeze_count()
        with collector_for_bounded_run():
            assert not gc.isenabled()
        assert not gc.isenabled()                 # the outer run goes on without collections
        assert gc.get_freeze_count() == frozen    # and keeps what it froze


def test_long_runs_collect_the_old_generation_rarely_and_the_young_as_before() -> None:
    before = gc.get_threshold()
    with collector_for_long_runs():
        young, middle, old = gc.get_threshold()
        assert (young, middle) == before[:2]
        assert old == max(before[2], OLD_GENERATION_THRESHOLD)
        assert gc.get_freeze_count() > 0
        pair = _cycle()
        gc.collect(1)
        assert pair() is None   # young collections still free cycles


def test_long_runs_give_everything_back_after_an_error() -> None:
    with pytest.raises(RuntimeError), collector_for_long_runs():
        raise RuntimeError("boom")


def test_a_running_fleet_makes_no_reference_cycles() -> None:
    """What `collector_for_bounded_run` rests on: once booted, a fleet that registers, subscribes and
    refreshes (every message, transaction, timer and NOTIFY of two simulated hours) leaves nothing
    for the cyclic collector; reference counting frees it all."""
    w = World("virtual-integrator", seed=3, dect_managers=2, keep_log=False)
    for n in range(40):
        w.add_user(f"{200000 + n}")
        w.add_handset(Ipui(emc=0x0B00, psn=n), f"{200000 + n}", feature_key_sync=True, dect_manager=1 + n % 2)
    w.start()
    w.run(60.0)
    gc.collect()
    gc.disable()
    try:
        w.run(60.0 + 2 * 3600.0)   # two refreshes of every registration and subscription
        assert gc.collect() == 0
    finally:
        gc.enable()
    assert all(w.system.line_of(ipui).subscription_status == "active" for ipui in w.handsets)
