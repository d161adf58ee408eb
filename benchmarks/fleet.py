"""Fleet benchmark (issue 5): a Virtual Integrator with 20,000 FKS handsets over one simulated hour.

Every handset powers on, its account registers and subscribes (digest-challenged, as BroadWorks does)
and refreshes before the hour is out; 5 % of the handsets change a feature from the menu at a random
time. Printed: wall time, simulated seconds per wall second, SIP messages per wall second, peak memory,
and, measured in the same run, a bare simpy loop processing the same number of events, with the
ratio of the two wall times (how much the protocol work costs over simpy's own scheduling).

    python benchmarks/fleet.py [--handsets N] [--json]

Targets (these 2-core machines): under 60 s wall and under 1 GB for 20,000 handsets.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import sys
import time
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


def build(handsets: int, seed: int) -> World:
    managers = max(1, -(-handsets // 250))   # 250 handsets per DECT manager (base-models.md §1)
    w = World("virtual-integrator", seed=seed, dect_managers=managers, keep_log=False)
    with w.store.transaction():
        for n in range(handsets):
            user = f"{100000 + n}"
            w.add_user(user)
            w.add_handset(Ipui(emc=0x0A00 + n // 0x100000, psn=n % 0x100000), user, feature_key_sync=True,
                          dect_manager=1 + n // 250)
    rng = random.Random(seed)
    ipuis = list(w.handsets)
    for ipui in rng.sample(ipuis, int(len(ipuis) * CHANGE_SHARE)):
        t = rng.uniform(60.0, 3000.0)
        if rng.random() < 0.5:
            w.at(t, lambda ipui=ipui: w.menu(ipui, MENUS[0]))
        else:
            w.at(t, lambda ipui=ipui: w.menu(ipui, MENUS[1], {"Status": "On", "Number": "3000"}))
    return w


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
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()

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
    print(f"total wall            {wall:.1f} s (target < 60 s, < 1024 MB)")


if __name__ == "__main__":
    main()
