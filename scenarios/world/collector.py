"""The garbage collector's settings for simulations: a process-wide choice made where a run starts
(the scenario runner's jobs, the fleet benchmark, `fksim serve`), never inside the World.

A simulated fleet holds a large, long-lived object graph (per account: the SIP cores and their
dialog state, the handset emulator, the server's user and subscription), and CPython's cyclic
collector walks it again and again: at 20,000 handsets the default settings cost 41 of a run's
117 s, and even with full collections made rare the young collections cost 7 of 60 s (measured with
`gc.callbacks`; docs/firmware.md "Performance").

Yet a run makes almost no reference cycles. Messages, transactions, simpy events and dialog state
are freed by reference counting; the only cycles are construct's parse contexts (a context refers
to itself as `_root`), made when an information element is decoded for the first time. The codecs
memoise decoded elements, so that garbage grows with the distinct elements a run meets (about a
dozen objects per handset at boot, some per new feature setting), not with the run's length: two
steady simulated hours of a fleet make none (tests/scenarios/test_collector.py). Hence [choice]:

- `collector_for_bounded_run()`, for a run that ends (a scenario job, the fleet benchmark): no
  automatic collection during the run, and one collection at its end, over the objects made since
  it began (what existed before is frozen, so it is not walked);
- `collector_for_long_runs()`, for a run that goes on until stopped (`fksim serve`): automatic
  collection stays on, the world that exists at the start is frozen, and a full collection comes
  after 1,000 middle-generation collections instead of 10.

Both give every setting back when the block ends, also after an error.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: [choice] middle-generation collections between two full collections (CPython's default: 10).
OLD_GENERATION_THRESHOLD = 1000


@contextmanager
def collector_for_bounded_run() -> Iterator[None]:
    enabled = gc.isenabled()
    outermost = gc.get_freeze_count() == 0
    if outermost:
        gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.collect()   # the run's own cycles; frozen objects are not walked
        if outermost:
            gc.unfreeze()
        if enabled:
            gc.enable()


@contextmanager
def collector_for_long_runs() -> Iterator[None]:
    saved = gc.get_threshold()
    outermost = gc.get_freeze_count() == 0
    gc.collect()
    if outermost:
        gc.freeze()
    gc.set_threshold(saved[0], saved[1], max(saved[2], OLD_GENERATION_THRESHOLD))
    try:
        yield
    finally:
        gc.set_threshold(*saved)
        if outermost:
            gc.unfreeze()


__all__ = ["OLD_GENERATION_THRESHOLD", "collector_for_bounded_run", "collector_for_long_runs"]
