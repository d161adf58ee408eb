"""What the whole-base fuzz targets (world_calls.py, world_air.py) send instead of a recorded run's
messages: for the k-th message, a mutated copy, nothing, or a mutated copy and another seed."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hypothesis import strategies as st


def draw_replacements(draw: st.DrawFn, recorded: Sequence[bytes],
                      mutated: Callable[[bytes], st.SearchStrategy[bytes]],
                      others: st.SearchStrategy[bytes]) -> dict[int, list[bytes]]:
    """Of ten, two messages are mutated, one is dropped, one is mutated and followed by another seed;
    the rest go unchanged (absent from the plan)."""
    out: dict[int, list[bytes]] = {}
    for k, data in enumerate(recorded):
        choice = draw(st.integers(0, 9))
        if choice < 2:
            out[k] = [draw(mutated(data))]
        elif choice == 2:
            out[k] = []
        elif choice == 3:
            out[k] = [draw(mutated(data)), draw(others)]
    return out
