"""The short fuzz run, part of the test suite: every seed of every target once, then a few
derandomized Hypothesis examples per target (the long run is `make fuzz`, tests/fuzz/run.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from fuzz import corpus
from fuzz.targets import TARGETS, Target, replay_call_answerer, replay_server_calls, run_guarded


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


@pytest.mark.parametrize(("replay", "address"), [(replay_call_answerer, corpus.ANSWERER),
                                                 (replay_server_calls, corpus.AS)], ids=["answerer", "server"])
def test_the_call_targets_replay_the_recorded_calls(
        replay: Callable[[list[Any]], list[bytes]], address: tuple[str, int]) -> None:
    """Unmutated, the call targets' input drives a fresh core through every recorded call: it sends
    exactly what the recorded one sent (so mutations reach the dialog code, not only the parser)."""
    from fuzz.targets import _call_exchange_seed

    # Before the first call, ANSWERER is the account's registration client, not the call core.
    recorded = [s[3] for s in corpus.recorded_call_log() if not isinstance(s, corpus.CallAction)
                and s[1] == address and not (address == corpus.ANSWERER and s[0] < 1.0)]
    assert len(recorded) >= 18
    assert replay(_call_exchange_seed(address)[0]) == recorded
