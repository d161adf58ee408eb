"""Running independent tasks (fleet parts, scenario jobs) on Dask distributed: a `LocalCluster` of
worker processes on this machine (`--workers N`), or an existing scheduler (`--scheduler
tcp://HOST:PORT`) with workers on any number of machines (docs/fleet.md, "On a cluster").

One responsibility: hand a list of picklable tasks to Dask and give back their results in the order
of the list, so that the caller's output never depends on which worker finished first. Each task is a
pure function of its input (`pure=False` only stops Dask from merging equal-looking tasks).

Choices: a local cluster runs one single-threaded worker process per `--workers` (the simulation is
pure Python: threads would share one interpreter lock), with no memory limit of its own (a fleet part
is as large as its handsets make it, and the default limit would pause or restart it) and no
dashboard. Connecting to a scheduler gives up after `CONNECT_TIMEOUT` seconds with an error naming it.
"""

from __future__ import annotations

import importlib
import logging
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from models.errors import ConfigError

T = TypeVar("T")
R = TypeVar("R")

#: Seconds to wait for a scheduler before giving up [choice].
CONNECT_TIMEOUT = 20


@contextmanager
def dask_client(*, workers: int = 1, scheduler: str | None = None) -> Iterator[Any]:
    """A `distributed.Client` on `scheduler`, or on a local cluster of `workers` processes."""
    dask: Any = importlib.import_module("distributed")   # imported when a cluster is asked for

    if scheduler is not None:
        if not scheduler.startswith(("tcp://", "tls://", "inproc://", "ws://", "wss://")):
            raise ConfigError(f"expected an address such as tcp://HOST:8786, got {scheduler!r}",
                              where="--scheduler")
        try:
            client = dask.Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as err:
            raise ConfigError(f"cannot reach the Dask scheduler at {scheduler} within {CONNECT_TIMEOUT} s: "
                              f"{err}", where="--scheduler") from None
        try:
            yield client
        finally:
            client.close()
        return
    with warnings.catch_warnings():
        # The scheduler's HTTP endpoint moves to a free port when 8787 is taken (another cluster): fine.
        warnings.filterwarnings("ignore", message="Port .* is already in use", category=UserWarning)
        cluster = dask.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, memory_limit=0,
                                    dashboard_address=None)
    # A nanny that stops its idle worker at the end logs a warning for each; nothing the user can act on.
    nanny = logging.getLogger("distributed.nanny")
    level = nanny.level
    nanny.setLevel(logging.ERROR)
    try:
        with cluster, dask.Client(cluster) as client:
            yield client
    finally:
        nanny.setLevel(level)


def run_on(client: Any, function: Callable[[T], R], tasks: Sequence[T],
           done: Callable[[int, R], None] | None = None) -> list[R]:
    """`function(task)` for every task on the cluster; results in the order of `tasks`. `done(index,
    result)` is called as each finishes (a progress bar)."""
    dask: Any = importlib.import_module("distributed")

    futures = client.map(function, list(tasks), pure=False)
    index_of = {future.key: index for index, future in enumerate(futures)}
    results: list[Any] = [None] * len(futures)
    for future in dask.as_completed(futures):
        index = index_of[future.key]
        results[index] = future.result()
        if done is not None:
            done(index, results[index])
    return results


def worker_count(client: Any) -> int:
    """How many workers the cluster has now."""
    return len(client.scheduler_info().get("workers", {}))


__all__ = ["CONNECT_TIMEOUT", "dask_client", "run_on", "worker_count"]
