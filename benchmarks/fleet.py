"""Fleet benchmark (issue 5, issue 16): a Virtual Integrator with 20,000 FKS handsets over one simulated hour.

Every handset powers on, its account registers and subscribes (digest-challenged, as BroadWorks does)
and refreshes before the hour is out; 5 % of the handsets change a feature from the menu at a random
time. Printed: wall time, simulated seconds per wall second, SIP messages per wall second, peak memory,
and, measured in the same run, a bare simpy loop processing the same number of events, with the
ratio of the two wall times (how much the protocol work costs over simpy's own scheduling).

`--workers N` (N > 1) also runs the same fleet cut into N parts (blocks of DECT managers, as
`fksim fleet` cuts it) on a local Dask cluster of N worker processes, and reports its wall time and
the parallel efficiency: the one-process wall time over N times the N-worker wall time (1.0: perfect).
`--study` runs the provider's study instead: `fksim fleet` over `--hours` (default 24) with every event
kind (2h reboot, 6h server restart, 9h outage of 10 min, 12h portal burst of 5 %) on `--workers`.

    python benchmarks/fleet.py [--handsets N] [--workers N] [--study [--hours H]] [--json]

Targets (these 2-core machines): one hour of 20,000 handsets in one process under 35 s and 800 MB
(stretch; 52-60 s before issue 16); the 24 h study of 20,000 handsets with every event in under
10 minutes on two workers.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import simpy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dect.identity import Ipui
from scenarios.world.collector import collector_for_bounded_run
from scenarios.world.world import World

SIM_SECONDS = 3600.0 + 60.0   # the hour, plus the last refresh's answers
CHANGE_SHARE = 0.05
MENUS = (["Menu", "Select services", "Do not disturb", "On"],
         ["Menu", "Select services", "Call divert", "All calls"])


def _draw(seed: int, n: int) -> tuple[float, float, float]:
    """Three uniform [0, 1) numbers of handset n: derived from the seed and the handset only, so a part
    of the fleet makes the same choices for its handsets as the whole fleet does."""
    digest = hashlib.blake2b(f"bench/{seed}/{n}".encode(), digest_size=24).digest()
    return tuple(int.from_bytes(digest[i:i + 8], "big") / 2**64 for i in (0, 8, 16))  # type: ignore[return-value]


def build(handsets: int, seed: int, dms: Sequence[int] | None = None) -> World:
    """The fleet (or, with `dms`, the part of it on those DECT managers) at t=0, not started."""
    managers = max(1, -(-handsets // 250))   # 250 handsets per DECT manager (base-models.md §1)
    w = World("virtual-integrator", seed=seed, dect_managers=managers, keep_log=False)
    wanted = set(dms) if dms is not None else None
    mine = [n for n in range(handsets) if wanted is None or 1 + n // 250 in wanted]
    with w.store.transaction():
        for n in mine:
            user = f"{100000 + n}"
            w.add_user(user)
            w.add_handset(Ipui(emc=0x0A00 + n // 0x100000, psn=n % 0x100000), user, feature_key_sync=True,
                          dect_manager=1 + n // 250)
    for n in mine:
        chosen, when, which = _draw(seed, n)
        if chosen >= CHANGE_SHARE:
            continue
        ipui = Ipui(emc=0x0A00 + n // 0x100000, psn=n % 0x100000)
        t = 60.0 + when * (3000.0 - 60.0)
        if which < 0.5:
            w.at(t, lambda ipui=ipui: w.menu(ipui, MENUS[0]))
        else:
            w.at(t, lambda ipui=ipui: w.menu(ipui, MENUS[1], {"Status": "On", "Number": "3000"}))
    return w


def _peak_mb() -> float:
    """This process's own peak resident memory (VmHWM): ru_maxrss would count the parent's peak too,
    since Linux keeps it across the fork and exec that start a worker."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_part(args: tuple[int, int, tuple[int, ...]]) -> tuple[int, int, float, int]:
    """A Dask task: one part of the fleet for the hour; (SIP messages, active subscriptions, peak MB,
    the worker's process id)."""
    handsets, seed, dms = args
    w = build(handsets, seed, dms)
    with collector_for_bounded_run():
        w.start()
        w.run(SIM_SECONDS)
    subscribed = sum(1 for ipui in w.handsets if (line := w.system.line_of(ipui)) is not None
                     and line.subscription_status == "active")
    return w.log.counts["sip"], subscribed, _peak_mb(), os.getpid()


def parallel(handsets: int, seed: int, workers: int) -> dict[str, float]:
    """The same hour cut into `workers` parts on a local Dask cluster of `workers` processes."""
    from scenarios.fleet.cluster import dask_client, run_on

    managers = max(1, -(-handsets // 250))
    parts = [tuple(range(1 + k * managers // workers, 1 + (k + 1) * managers // workers))
             for k in range(workers)]
    started = time.perf_counter()
    with dask_client(workers=workers) as client:
        client.wait_for_workers(workers)
        up = time.perf_counter()
        results = run_on(client, run_part, [(handsets, seed, dms) for dms in parts])
        wall = time.perf_counter() - up
    assert len({r[3] for r in results}) == workers, "every worker ran one part"
    return {"workers": workers, "cluster_start_s": round(up - started, 2), "wall_s": round(wall, 2),
            "sip_messages": sum(r[0] for r in results), "subscribed": sum(r[1] for r in results),
            "peak_rss_mb_per_worker": round(max(r[2] for r in results), 1)}


def study(handsets: int, seed: int, workers: int, hours: float) -> dict[str, object]:
    """`fksim fleet` with every event kind over `hours`, on `workers` (a local cluster when > 1)."""
    from scenarios.fleet.cluster import dask_client, run_on
    from scenarios.fleet.part import run_part as run_fleet_part
    from scenarios.fleet.spec import FleetSpec, parse_event
    from scenarios.fleet.study import run_study

    events = [e for e in ("2h:reboot", "6h:server-restart", "9h:outage=10m", "12h:portal-burst=5%")
              if parse_event(e).end < hours * 3600]
    spec = FleetSpec(model="virtual-integrator", handsets=handsets, duration=hours * 3600, seed=seed,
                     events=tuple(parse_event(e) for e in events), resolution=60.0)
    started = time.perf_counter()
    if workers <= 1:
        result = run_study(spec)
    else:
        with dask_client(workers=workers) as client:
            result = run_study(spec, workers, runner=lambda jobs: run_on(client, run_fleet_part, jobs))
    summary = result["summary"]
    return {"handsets": handsets, "hours": hours, "workers": workers, "events": events,
            "wall_s": round(time.perf_counter() - started, 1), "as_messages": summary["as_messages"],
            "peak_as_msgs_per_s": summary["peak_as_msgs_per_s"],
            "reconverged_after": [e["reconverged_after"] for e in summary["events"]]}


def bare_simpy(events: int) -> float:
    """Wall seconds for simpy alone to schedule and fire `events` timeouts with a callback each."""
    env = simpy.Environment()
    fired = 0

    def tick(_event: object) -> None:
        nonlocal fired
        fired += 1

    start = time.perf_counter()
    for n in range(events):
        env.timeout(n * 1e-3).callbacks.append(tick)
    env.run()
    assert fired == events
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--handsets", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1,
                        help="also run the hour on a local Dask cluster of N workers (parallel efficiency)")
    parser.add_argument("--study", action="store_true", help="run the fleet study with every event instead")
    parser.add_argument("--hours", type=float, default=24.0, help="the study's simulated hours")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()
    if args.study:
        figures = study(args.handsets, args.seed, args.workers, args.hours)
        print(json.dumps(figures) if args.json else "\n".join(f"{k:22}{v}" for k, v in figures.items()))
        return

    start = time.perf_counter()
    w = build(args.handsets, args.seed)
    built = time.perf_counter()
    with collector_for_bounded_run():   # as each job of `fksim run` does
        w.start()
        w.run(SIM_SECONDS)
    # The wall time includes the collection that ends the run.
    wall = time.perf_counter() - start
    run_wall = time.perf_counter() - built
    events = next(w.env._eid)   # simpy numbers every event it schedules: this is how many there were
    with collector_for_bounded_run():   # the baseline under the same collector settings
        bare = bare_simpy(events)
    sip = w.log.counts["sip"]
    subscribed = sum(1 for ipui in w.handsets if (line := w.system.line_of(ipui)) is not None
                     and line.subscription_status == "active")
    figures = {
        "handsets": args.handsets,
        "sim_s": SIM_SECONDS,
        "wall_s": round(wall, 2),
        "sim_s_per_wall_s": round(SIM_SECONDS / run_wall, 1),
        "sip_msgs_per_s": round(sip / run_wall),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "bare_simpy_ratio": round(run_wall / bare, 1),
    }
    if args.workers > 1:
        scaled = parallel(args.handsets, args.seed, args.workers)
        assert scaled["sip_messages"] == sip, "the parts add up to the whole fleet's traffic"
        figures["workers"] = args.workers
        figures["parallel_wall_s"] = scaled["wall_s"]
        figures["parallel_efficiency"] = round(run_wall / (args.workers * scaled["wall_s"]), 2)
        figures["cluster_start_s"] = scaled["cluster_start_s"]
        figures["peak_rss_mb_per_worker"] = scaled["peak_rss_mb_per_worker"]
    if args.json:
        print(json.dumps(figures))
        return
    print(f"python                {platform.python_version()} ({os.path.realpath(sys.executable)}); "
          f"the Makefile builds .venv on the distribution's optimised build")
    print(f"handsets              {args.handsets} ({subscribed} subscriptions active at the end)")
    print(f"build                 {built - start:.1f} s")
    print(f"simulated             {SIM_SECONDS:.0f} s in {run_wall:.1f} s wall "
          f"({figures['sim_s_per_wall_s']} sim s per wall s)")
    print(f"messages              {sip} SIP, {w.log.counts['dect']} DECT; "
          f"{figures['sip_msgs_per_s']} SIP msgs/s")
    print(f"simpy events          {events}; a bare simpy loop takes {bare:.2f} s for them "
          f"(fksim is {figures['bare_simpy_ratio']}x that)")
    print(f"peak memory           {figures['peak_rss_mb']} MB")
    print(f"total wall            {wall:.1f} s (target < 35 s, < 800 MB)")
    if args.workers > 1:
        print(f"{args.workers} workers             {figures['parallel_wall_s']} s wall for the same hour in "
              f"{args.workers} parts (cluster start {figures['cluster_start_s']} s, "
              f"{figures['peak_rss_mb_per_worker']} MB per worker); parallel efficiency "
              f"{figures['parallel_efficiency']}")


if __name__ == "__main__":
    main()
