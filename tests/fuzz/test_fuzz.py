"""The short fuzz run, part of the test suite: every seed of every target once, then a few
derandomized Hypothesis examples per target (the long run is `make fuzz`, tests/fuzz/run.py)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from fuzz.targets import TARGETS, Target, run_guarded


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_every_seed_is_accepted_or_refused_cleanly(target: Target) -> None:
    examples = target.examples(True)
    assert examples
    for value in examples:
        run_guarded(target, value)


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_mutated_inputs_are_accepted_or_refused_cleanly(target: Target) -> None:
    @settings(
        max_examples=target.short_examples, derandomize=True, database=None, deadline=None,
        suppress_health_check=list(HealthCheck), phases=(Phase.generate, Phase.shrink),
    )  # fmt: skip
    @given(target.inputs(True))
    def holds(value: object) -> None:
        run_guarded(target, value)

    holds()
