"""The long fuzz run (`make fuzz`): every target of tests/fuzz/targets.py for a share of the time
budget, with random seeds, printing per target the number of inputs tried and every seed used, so
that any failure replays.

    python tests/fuzz/run.py                      # FUZZ_SECONDS (default 600) shared by all targets
    python tests/fuzz/run.py --seconds 60 --target sip-parse
    python tests/fuzz/run.py --target scenario --seed 1234 --examples 200   # replay one batch

Each target runs in batches of `--examples` Hypothesis examples; a batch is fully determined by its
seed and size, so `--seed S --examples N` on the same code replays it. A failure prints the
falsifying input (Hypothesis shrinks it first) and the replay command, and the run exits 1.
The process limits its address space (`--memory`, 4 GiB by default) so that a memory bomb is a
MemoryError reported with its input rather than a machine out of memory.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE.parent)]  # the repository, then tests/ (as pytest does)

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

from fuzz.targets import BY_NAME, TARGETS, Target, run_guarded  # noqa: E402


def run_batch(target: Target, batch_seed: int, examples: int, stop_at: float | None, counter: list[int]) -> None:
    """One batch of `examples` inputs; inputs drawn after `stop_at` return at once (not counted)."""

    @seed(batch_seed)
    @settings(
        max_examples=examples, derandomize=False, database=None, deadline=None,
        suppress_health_check=list(HealthCheck), phases=(Phase.generate, Phase.shrink),
        print_blob=True,
    )  # fmt: skip
    @given(target.inputs(False))
    def holds(value: object) -> None:
        if stop_at is not None and time.monotonic() > stop_at:
            return
        counter[0] += 1
        run_guarded(target, value)

    holds()


def fuzz_target(target: Target, seconds: float, examples: int, fixed_seed: int | None) -> bool:
    """Run `target` for `seconds` (or one batch with `fixed_seed`); True when nothing failed."""
    counter = [0]
    seeds: list[int] = []
    started = time.monotonic()
    stop_at = None if fixed_seed is not None else started + seconds
    ok = True
    # The seeds themselves first, unchanged: the hostile documents are the point of the exercise.
    if fixed_seed is None:
        for value in target.examples(False):
            counter[0] += 1
            try:
                run_guarded(target, value)
            except Exception:  # report and go on to the mutated inputs
                ok = False
                print(f"[{target.name}] FAILED on a seed: {value!r:.300}")
                traceback.print_exc(limit=-3)
    while True:
        batch_seed = fixed_seed if fixed_seed is not None else random.SystemRandom().getrandbits(32)
        seeds.append(batch_seed)
        try:
            run_batch(target, batch_seed, examples, stop_at, counter)
        except Exception:
            ok = False
            traceback.print_exc(limit=-3)
            print(f"[{target.name}] FAILED in the batch of seed {batch_seed}; replay with:\n"
                  f"    python tests/fuzz/run.py --target {target.name} --seed {batch_seed} --examples {examples}")
            break
        if fixed_seed is not None or time.monotonic() >= started + seconds:
            break
    elapsed = time.monotonic() - started
    print(f"[{target.name}] {'ok' if ok else 'FAILED'}: {counter[0]} inputs in {elapsed:.0f} s, "
          f"{len(seeds)} batch(es) of {examples}, seeds {' '.join(map(str, seeds))}", flush=True)
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("FUZZ_SECONDS", "600")),
                        help="total time, shared by the targets (default: FUZZ_SECONDS or 600)")
    parser.add_argument("--target", action="append", choices=sorted(BY_NAME), help="run only these targets")
    parser.add_argument("--seed", type=int, help="replay: one batch with this seed")
    parser.add_argument("--examples", type=int, default=1000, help="examples per batch (default 1000)")
    parser.add_argument("--memory", type=int, default=4096, help="address-space limit in MiB (0: none)")
    args = parser.parse_args(argv)
    if args.memory:
        limit = args.memory * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    targets = [BY_NAME[name] for name in args.target] if args.target else list(TARGETS)
    share = args.seconds / len(targets)
    print(f"fuzzing {len(targets)} target(s), {share:.0f} s each", flush=True)
    results = [fuzz_target(t, share, args.examples, args.seed) for t in targets]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
