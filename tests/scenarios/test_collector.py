"""The collector policy for long simulations: what it changes, and that it gives everything back."""

from __future__ import annotations

import gc

import pytest

from scenarios.world.collector import OLD_GENERATION_THRESHOLD, collector_for_long_runs


def test_old_generation_is_collected_rarely_inside_and_as_before_after() -> None:
    before = gc.get_threshold()
    with collector_for_long_runs():
        young, middle, old = gc.get_threshold()
        assert (young, middle) == before[:2]   # the young generations keep their thresholds
        assert old == max(before[2], OLD_GENERATION_THRESHOLD)
        assert gc.get_freeze_count() > 0      # what existed at the start is out of collection
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_cyclic_garbage_made_inside_is_still_collected() -> None:
    class Node:
        def __init__(self) -> None:
            self.other: Node | None = None

    with collector_for_long_runs():
        a, b = Node(), Node()
        a.other, b.other = b, a
        del a, b
        assert gc.collect(1) >= 2   # young collections still free cycles (construct's parse contexts)


def test_an_error_inside_still_restores_everything() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), collector_for_long_runs():
        raise RuntimeError("boom")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
