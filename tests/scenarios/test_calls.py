"""Calls in scenarios (issue 13): the call steps and expectation are validated with file and line, and
the simulated world delivers calls as the rules in docs/firmware.md and docs/appserver.md say."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from dect.identity import Ipui
from scenarios.runner import run_scenario
from scenarios.validate import load_scenario
from scenarios.world.world import World
from scenarios.yamlsrc import ScenarioError
from sip.state import FeatureState, Forwarding

MODELS = ("N610", "N670", "N870", "N870E", "embedded-integrator", "virtual-integrator")
A = Ipui.parse("029e74a599")
B = Ipui.parse("029e74a5a0")

HEAD = """\
scenario: t
models: [N870]
handsets:
  - {ipui: "029e74a599", user: "2001", feature_key_sync: true}
"""


def _problems(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "s.yaml"
    path.write_text(HEAD + textwrap.dedent(body))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, MODELS)
    return list(info.value.problems)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("steps:\n  - at: 1s\n    call: {from: \"3005\", to: \"2002\", id: c1}\n",
         's.yaml:7: steps[0].call.to: unknown user "2002" (did you mean "2001"?)'),
        ("steps:\n  - at: 1s\n    call: {from: \"30x5\", to: \"2001\", id: c1}\n",
         's.yaml:7: steps[0].call.from: "30x5" is not a caller\'s number'),
        ("steps:\n  - at: 1s\n    call: {from: \"3005\", to: \"2001\"}\n", 'missing required key "id"'),
        ("steps:\n  - at: 1s\n    call: {from: \"3005\", to: \"2001\", id: c1}\n"
         "  - at: 2s\n    call: {from: \"3006\", to: \"2001\", id: c1}\n",
         's.yaml:9: steps[1].call.id: call id "c1" is already used at line 7'),
        ("steps:\n  - at: 1s\n    call: {from: \"3005\", to: \"2001\", id: c1}\n  - at: 2s\n    hangup: c2\n",
         's.yaml:9: steps[1].hangup: unknown call id "c2" (valid: c1)'),
        ("steps:\n  - at: 1s\n    hangup: c2\n", "no step places a call"),
        ("steps:\n  - at: 1s\n    call: {from: \"3005\", to: \"2001\", id: c1}\n"
         "expect:\n  - at: end\n    call: {id: c9, outcome: answered}\n",
         's.yaml:10: expect[0].call.id: unknown call id "c9" (valid: c1)'),
        ("steps:\n  - at: 1s\n    call: {from: \"3005\", to: \"2001\", id: c1}\n"
         "expect:\n  - at: end\n    call: {id: c1, outcome: answerd}\n",
         'unknown outcome "answerd" (did you mean "answered"?)'),
        ("steps:\n  - at: 1s\n    call: {from: \"3005\", to: \"2001\", id: c1}\n"
         "expect:\n  - at: end\n    call: {id: c1, outcome: answered, by: \"029e74a5a1\"}\n",
         'unknown handset "029e74a5a1"'),
        ("steps:\n  - at: 1s\n    call: {from: \"3005\", to: \"2001\", id: c1}\n"
         "expect:\n  - at: end\n    call: {id: c1, outcome: rejected, status: 200}\n",
         "expect[0].call.status"),
        ("steps:\n  - at: 1s\n    call: {from: \"3005\", to: \"2001\", id: c1, ring: 3}\n",
         'unknown key "ring"'),
    ],
)
def test_call_errors_name_file_line_and_field(tmp_path: Path, body: str, expected: str) -> None:
    problems = _problems(tmp_path, body)
    assert any(expected in p for p in problems), problems


def test_every_call_error_is_reported_in_one_pass(tmp_path: Path) -> None:
    problems = _problems(tmp_path, "steps:\n  - at: 1s\n    call: {from: \"x\", to: \"9\", id: c1}\n"
                                   "expect:\n  - at: end\n    call: {id: c2, outcome: nope}\n")
    assert len(problems) == 4, problems


def _world(*handsets: tuple[Ipui, bool], model: str = "N870") -> World:
    world = World(model, seed=5)
    world.add_user("2001")
    for ipui, fks in handsets:
        world.add_handset(ipui, "2001", feature_key_sync=fks)
    world.start()
    world.run(2.0)
    return world


def test_a_call_nobody_answers_rings_until_the_caller_gives_up() -> None:
    world = _world((A, True))
    world.call("c1", "3005", "2001")
    world.run(50.0)
    assert world.call_state("c1")["outcome"] == "ringing"
    assert "3005" in world.handset_display(A)
    world.run(70.0)
    state = world.call_state("c1")
    assert state["outcome"] == "unanswered" and state["after"] == pytest.approx(60.0, abs=0.1)
    assert "Call ended" in world.handset_display(A)


def test_a_handset_out_of_range_is_not_reached_and_the_caller_gets_480() -> None:
    world = _world((A, True))
    world.set_out_of_range(A, True)
    world.call("c1", "3005", "2001")
    world.run(40.0)
    state = world.call_state("c1")
    assert state["outcome"] == "rejected" and state["status"] == 480 and state["by"] == "base"
    assert state["after"] == pytest.approx(20.0, abs=0.1)   # CC.03


def test_end_while_ringing_rejects_the_call_with_busy() -> None:
    world = _world((A, False))
    world.call("c1", "3005", "2001")
    world.run(5.0)
    world.keys(A, ["END"])
    world.run(10.0)
    assert world.call_state("c1") | {"after": 0} == {"outcome": "rejected", "by": "base", "status": 486,
                                                      "after": 0}


def test_the_server_forwards_on_busy_when_the_base_rejects_and_fks_keeps_cfb_on_the_server() -> None:
    world = _world((A, True))
    world.server.directory.require("2001").state = FeatureState(cfb=Forwarding(active=True, to="3001"))
    world.call("c1", "3005", "2001")
    world.run(5.0)
    world.keys(A, ["END"])
    world.run(10.0)
    state = world.call_state("c1")
    assert (state["outcome"], state["by"], state["to"]) == ("forwarded", "server", "3001")


def test_with_fks_the_base_does_not_apply_the_features_it_would_keep_without() -> None:
    # FKS on: a CFA the handset once kept locally (NVM) is not the base's to apply any more.
    world = World("N870", seed=5)
    world.add_user("2001")
    world.add_handset(A, "2001", feature_key_sync=True)
    world.store.set_local_features(A, FeatureState(cfa=Forwarding(active=True, to="3000")))
    world.start()
    world.run(2.0)
    world.call("c1", "3005", "2001")
    world.run(6.0)
    assert world.call_state("c1")["outcome"] == "ringing"


def test_the_result_lists_the_calls(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(HEAD + "steps:\n  - at: 5s\n    call: {from: \"3005\", to: \"2001\", id: c1}\n"
                           "  - at: 7s\n    handset: \"029e74a599\"\n    keys: [TALK]\n"
                           "expect:\n  - at: end\n    call: {id: c1, outcome: answered, by: \"029e74a599\", "
                           "after: 2s}\n")
    result, _world = run_scenario(load_scenario(path, MODELS), "N870")
    assert result.passed, result.trace
    assert result.final["calls"] == {"c1": {"outcome": "answered", "after": pytest.approx(2.03, abs=0.05),
                                             "by": "029e74a599"}}


def test_a_failed_call_expectation_says_what_differs(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(HEAD + "steps:\n  - at: 5s\n    call: {from: \"3005\", to: \"2001\", id: c1}\n"
                           "expect:\n  - at: end\n    call: {id: c1, outcome: forwarded, to: \"3000\", "
                           "after: 1s}\n")
    result, _world = run_scenario(load_scenario(path, MODELS), "N870")
    assert not result.passed
    message = result.expectations[0].message
    assert "outcome is unanswered, expected forwarded" in message or "outcome is ringing" in message
    assert 'to is null, expected "3000"' in message


def test_finished_calls_leave_no_route_at_the_dect_manager() -> None:
    # A base that takes calls for days must not keep a Call-ID route per call: once a call is over
    # and its transactions have ended, its Call-ID routes nowhere (a late request gets 481).
    world = _world((A, False))
    dm = world.system.dms[1]
    before = set(dm._by_call_id)
    for n in range(3):
        world.call(f"c{n}", "3005", "2001")
        world.run(world.env.now + 3.0)
        world.keys(A, ["TALK"])
        world.run(world.env.now + 3.0)
        world.keys(A, ["END"])
        world.run(world.env.now + 40.0)   # the BYE's transaction and every timer of the call are over
        assert world.call_state(f"c{n}")["outcome"] == "answered"
    assert set(dm._by_call_id) == before


@pytest.mark.parametrize("first", ["cancelled", "hung up by the caller"])
def test_a_call_that_rings_while_an_earlier_calls_timers_end_is_still_released(first: str) -> None:
    # The call core's timers of an earlier call (the 32 s Timer J of the caller's CANCEL or BYE) fire
    # while the next call rings. The base used to index that call's Call-ID under no account then:
    # the server's CANCEL got 200 and 487, but the handset was never told and rang on, and its END
    # later raised in the call desk.
    world = _world((A, False))
    world.call("c1", "3005", "2001")
    world.run(world.env.now + 3.0)
    if first == "hung up by the caller":
        world.keys(A, ["TALK"])
        world.run(world.env.now + 3.0)
    world.hangup("c1")
    world.run(world.env.now + 10.0)
    world.call("c2", "3005", "2001")       # rings past the first call's Timer J, until the caller gives up
    world.run(world.env.now + 70.0)
    assert world.call_state("c2")["outcome"] == "unanswered"
    assert world.handset(A).calls.call is None   # released on the air: not ringing any more
    world.keys(A, ["END"])
    world.run(world.env.now + 5.0)
    world.call("c3", "3005", "2001")
    world.run(world.env.now + 3.0)
    world.keys(A, ["TALK"])
    world.run(world.env.now + 3.0)
    assert world.call_state("c3")["outcome"] == "answered"
