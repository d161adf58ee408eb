"""The garbage collector's settings for long simulations: a process-wide choice that entry points
make (the fleet benchmark, `fksim run`, `fksim serve`), never the World itself.

CPython collects its oldest generation whenever that generation has grown by a quarter since the
last full collection, and a full collection walks every live container. A simulated fleet holds a
large, long-lived object graph (per account: the SIP cores and their dialog state, the handset
emulator, the server's user and subscription), built up during the boot storm; at 20,000 handsets
the collector then walked about two million objects some 35 times, 41 of the run's 117 s (measured
with `gc.callbacks`, see docs/firmware.md "Performance"). The garbage the run makes is short-lived
(messages, transactions, construct's cyclic parse contexts of the DECT codec) and dies in the young
generations, which keep their default thresholds. So here [choice]:

- what exists when the run starts (the built world) is frozen out of collection for the run;
- a full collection comes after 1,000 middle-generation collections instead of 10.

Both are undone when the block ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: [choice] middle-generation collections between two full collections (CPython's default: 10).
OLD_GENERATION_THRESHOLD = 1000


@contextmanager
def collector_for_long_runs() -> Iterator[None]:
    saved = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(saved[0], saved[1], max(saved[2], OLD_GENERATION_THRESHOLD))
    try:
        yield
    finally:
        gc.set_threshold(*saved)
        gc.unfreeze()


__all__ = ["OLD_GENERATION_THRESHOLD", "collector_for_long_runs"]
