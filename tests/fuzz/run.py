"""The long fuzz run (`make fuzz`): every target of tests/fuzz/targets.py for a share of the time
budget, with random seeds, printing per target the number of inputs tried and every seed used, so
that any failure replays.

    python tests/fuzz/run.py                      # FUZZ_SECONDS (default 600) shared by all targets
    python tests/fuzz/run.py --seconds 60 --target sip-parse
    python tests/fuzz/run.py --target scenario --seed 1234 --examples 1000   # replay one batch

A target first runs each of its seeds unchanged (the hostile documents are the point), then
batches of `--examples` Hypothesis examples until its time is up, going on after a failure with a
new seed. A target with known failures (in code another part of the project owns, see
tests/fuzz/corpus.py) alternates batches with them and batches without them (`--known-excluded`),
so a known failure does not hide new ones. A batch is fully determined by its seed, size and that
flag: the replay command printed with every failure gives the same inputs on the same code.
The process limits its address space (`--memory`, 4 GiB by default) so that a memory bomb is a
MemoryError reported with its input rather than a machine out of memory. Exit status 1 when
anything failed.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE.parent)]  # the repository, then tests/ (as pytest does)

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

from fuzz.targets import BY_NAME, TARGETS, Target, run_guarded  # noqa: E402


@dataclass
class Tally:
    inputs: int = 0
    batches: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def _signature(err: BaseException) -> str:
    """Type and innermost frame: the same bug met twice is reported once."""
    frames = traceback.extract_tb(err.__traceback__)
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
    return f"{type(err).__name__} at {where}"


def run_batch(target: Target, batch_seed: int, examples: int, known_excluded: bool, stop_at: float | None,
              tally: Tally) -> None:  # fmt: skip
    """One batch of `examples` inputs; inputs drawn after `stop_at` return at once (not counted)."""

    # A batch that includes the known failures will meet them: shrinking those (seconds a call for
    # the deep YAML) would eat the budget, and they are reported already. Other batches shrink.
    shrink = not target.has_known_failures or known_excluded
    phases = (Phase.generate, Phase.shrink) if shrink else (Phase.generate,)

    @seed(batch_seed)
    @settings(
        max_examples=examples, derandomize=False, database=None, deadline=None,
        suppress_health_check=list(HealthCheck), phases=phases,
    )  # fmt: skip
    @given(target.inputs(known_excluded))
    def holds(value: object) -> None:
        if stop_at is not None and time.monotonic() > stop_at:
            return
        tally.inputs += 1
        run_guarded(target, value)

    holds()


def run_seeds(target: Target, tally: Tally) -> None:
    seen: set[str] = set()
    for value in target.examples(False):
        tally.inputs += 1
        try:
            run_guarded(target, value)
        except Exception as err:
            signature = _signature(err)
            tally.failures.append(f"seed: {signature}")
            if signature not in seen:
                seen.add(signature)
                print(f"[{target.name}] FAILED on a seed ({signature}): {value!r:.300}")
                traceback.print_exception(err, limit=-4)


def fuzz_target(target: Target, seconds: float, examples: int, fixed_seed: int | None, known_excluded: bool) -> bool:
    """Run `target` for `seconds` (or one batch with `fixed_seed`); True when nothing failed."""
    tally = Tally()
    started = time.monotonic()
    if fixed_seed is None:
        run_seeds(target, tally)
    stop_at = None if fixed_seed is not None else started + seconds
    number = 0
    while fixed_seed is not None or time.monotonic() < started + seconds:
        batch_seed = fixed_seed if fixed_seed is not None else random.SystemRandom().getrandbits(32)
        excluded = known_excluded if fixed_seed is not None else target.has_known_failures and number % 2 == 1
        number += 1
        flag = " --known-excluded" if excluded else ""
        tally.batches.append(f"{batch_seed}{'(known excluded)' if excluded else ''}")
        try:
            run_batch(target, batch_seed, examples, excluded, stop_at, tally)
        except Exception as err:
            tally.failures.append(f"batch {batch_seed}: {_signature(err)}")
            traceback.print_exception(err, limit=-4)
            print(f"[{target.name}] FAILED in the batch of seed {batch_seed} ({_signature(err)}); replay with:\n"
                  f"    python tests/fuzz/run.py --target {target.name} --seed {batch_seed} --examples {examples}{flag}",
                  flush=True)  # fmt: skip
        if fixed_seed is not None:
            break
    elapsed = time.monotonic() - started
    verdict = "ok" if not tally.failures else f"FAILED ({len(tally.failures)} failing seeds or batches)"
    print(f"[{target.name}] {verdict}: {tally.inputs} inputs in {elapsed:.0f} s; batches of {examples}, "
          f"seeds {' '.join(tally.batches)}", flush=True)
    return not tally.failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("FUZZ_SECONDS", "600")),
                        help="total time, shared by the targets (default: FUZZ_SECONDS or 600)")
    parser.add_argument("--target", action="append", choices=sorted(BY_NAME), help="run only these targets")
    parser.add_argument("--seed", type=int, help="replay: one batch with this seed")
    parser.add_argument("--known-excluded", action="store_true", help="replay: a batch without the known failures")
    parser.add_argument("--examples", type=int, default=1000, help="examples per batch (default 1000)")
    parser.add_argument("--memory", type=int, default=4096, help="address-space limit in MiB (0: none)")
    args = parser.parse_args(argv)
    if args.memory:
        limit = args.memory * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    targets = [BY_NAME[name] for name in args.target] if args.target else list(TARGETS)
    share = args.seconds / len(targets)
    print(f"fuzzing {len(targets)} target(s), {share:.0f} s each", flush=True)
    results = [fuzz_target(t, share, args.examples, args.seed, args.known_excluded) for t in targets]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
