"""The runner on its own: expectations evaluated at their time with clear messages, counting windows,
per-model checks with file and line, and failures at run time turned into a failed run, never raised."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest

from models.profiles import load_profiles
from scenarios.preflight import check
from scenarios.runner import pcap_stem, run_scenario
from scenarios.validate import load_scenario
from scenarios.yamlsrc import ScenarioError

IDS = load_profiles().ids

HEAD = """\
scenario: runner test
models: [N870]
duration: 30s
handsets:
  - ipui: "029e74a599"
    user: "2001"
    feature_key_sync: true
"""


def _load(tmp_path: Path, body: str, head: str = HEAD):
    path = tmp_path / "s.yaml"
    path.write_text(head + textwrap.dedent(body), encoding="utf-8")
    return load_scenario(path, IDS)


def _run(tmp_path: Path, body: str, model: str = "N870", head: str = HEAD):
    scenario = _load(tmp_path, body, head)
    assert check(scenario, model).problems == []
    result, _ = run_scenario(scenario, model)
    return result


def test_expectations_are_read_at_their_time_not_at_the_end(tmp_path):
    result = _run(tmp_path, """\
        steps:
          - {at: 5s, handset: "029e74a599", menu: [Menu, Select services, Do not disturb, "On"]}
          - {at: 15s, portal: {user: "2001", dnd: false}}
        expect:
          - {at: 4s, handset: "029e74a599", state: {dnd: false}}
          - {at: 10s, handset: "029e74a599", state: {dnd: true}}
          - {at: 10s, server: {user: "2001", state: {dnd: true}}}
          - {at: end, handset: "029e74a599", state: {dnd: false}}
        """)
    assert result.passed, [e.message for e in result.expectations]
    assert [e.at for e in result.expectations] == [4.0, 10.0, 10.0, None]
    assert result.sim_time == 30.0


def test_failures_say_what_was_found(tmp_path):
    result = _run(tmp_path, """\
        expect:
          - {at: 5s, handset: "029e74a599", state: {dnd: true, cfa: {to: "3000"}}, display: "Holiday"}
          - {at: 5s, server: {user: "2001", state: {cfna: {rings: 5}}}}
          - {at: 5s, fks: {handset: "029e74a599", supported: false, reason: internal telephony}}
          - {at: end, sip: {method: NOTIFY, count: 3}}
          - {at: end, dect: {message: LOCATE-REQUEST, from: base, count: ">=1"}}
        """)
    assert not result.passed and result.error is None
    messages = [e.message for e in result.expectations]
    assert messages[0].startswith("handset 029e74a599: dnd is false, expected true; cfa.to is \"\", expected")
    assert 'does not show "Holiday"' in messages[0]
    assert messages[1] == "server user 2001: cfna.rings is 3, expected 5"
    assert "supported is true, expected false" in messages[2] and "reason is None" in messages[2]
    assert messages[3] == "sip NOTIFY: 1 in 0s..30s, expected 3"
    assert messages[4] == "dect LOCATE-REQUEST from base: 0 in 0s..30s, expected >=1"
    assert "FAIL  [3] at end: sip NOTIFY" in result.trace and result.trace.endswith("FAILED\n")


def test_counts_use_the_window_and_match_responses_by_their_request(tmp_path):
    result = _run(tmp_path, """\
        steps:
          - {at: 5s, handset: "029e74a599", menu: [Menu, Select services, Do not disturb, "On"]}
        expect:
          - {at: 1s, sip: {status: 401, method: SUBSCRIBE, event: as-feature-event, count: 1}}
          - {at: 1s, sip: {status: 200, event: as-feature-event, count: 2}}     # SUBSCRIBE and NOTIFY
          - {at: 4s, sip: {method: SUBSCRIBE, from: 1s, count: 0}}
          - {at: 10s, sip: {method: SUBSCRIBE, body: setdonotdisturb, from: 5s, count: 1}}
          - {at: 10s, dect: {message: FACILITY, from: base, since: 5s, count: 1}}
          - {at: 10s, dect: {message: CISS-REGISTER, from: "029e74a599", since: 5.001s, count: 0}}
        """)
    assert result.passed, [e.message for e in result.expectations if not e.passed]


def test_a_step_that_raises_fails_the_run_with_its_place(tmp_path):
    scenario = _load(tmp_path, """\
        steps:
          - {at: 5s, handset: "029e74a599", roam_to: 1}
        expect:
          - {at: end, handset: "029e74a599", state: {dnd: false}}
        """)
    step = dataclasses.replace(scenario.steps[0], args={"dect_manager": 7})   # past the preflight check
    broken = dataclasses.replace(scenario, steps=(step,))
    result, _ = run_scenario(broken, "N870")
    assert not result.passed
    assert result.error is not None and f"{scenario.file}:9: steps[0]: at 5s: ValueError" in result.error
    assert "ERROR" in result.trace and result.trace.endswith("FAILED\n")
    assert result.messages, "what ran before is kept"


def test_a_failure_inside_the_world_stops_the_run_and_marks_later_expectations(tmp_path, monkeypatch):
    scenario = _load(tmp_path, """\
        steps:
          - {at: 5s, portal: {user: "2001", dnd: true}}
        expect:
          - {at: 2s, handset: "029e74a599", state: {dnd: false}}
          - {at: 20s, handset: "029e74a599", state: {dnd: true}}
        """)
    from sip.server.app import ApplicationServer

    def broken(*_args, **_kwargs):
        raise RuntimeError("core failure")

    monkeypatch.setattr(ApplicationServer, "portal_change", broken)
    result, _ = run_scenario(scenario, "N870")
    assert not result.passed and "RuntimeError: core failure" in (result.error or "")
    assert result.expectations[0].passed


def test_internal_telephony_and_dect_managers_are_checked_per_model(tmp_path):
    head = HEAD.replace("models: [N870]", "models: all") + "base:\n  internal_telephony: false\n"
    scenario = _load(tmp_path, "", head)
    assert check(scenario, "N610").problems == [] and check(scenario, "N670").problems == []
    found = check(scenario, "N870E")
    assert found.problems == [f"{scenario.file}:9: base.internal_telephony: N870E has no internal telephony "
                              "setting (only N610 and N670 have it)"]
    assert found.not_applicable == ["no internal telephony setting"]
    head = HEAD.replace("models: [N870]", "models: all") + "base: {dect_managers: 11}\n"
    scenario = _load(tmp_path, "", head)
    assert check(scenario, "virtual-integrator").problems == []
    assert "runs at most 10 DECT manager(s), not 11" in check(scenario, "N870").problems[0]


def test_step_changing_internal_telephony_on_a_model_without_it(tmp_path):
    scenario = _load(tmp_path, """\
        steps:
          - {at: 5s, base: {internal_telephony: true}}
        """)
    assert check(scenario, "N870").problems == [
        f"{scenario.file}:9: steps[0].base.internal_telephony: N870 has no internal telephony setting "
        "(only N610 and N670 have it)"]


def test_menu_paths_are_compiled_for_the_handset_type(tmp_path):
    # Checked when the file is read (so `fksim check` lists it with every other problem), against the
    # handset's own type.
    head = HEAD.replace('    feature_key_sync: true\n', '    feature_key_sync: true\n    type: R650H PRO\n')
    with pytest.raises(ScenarioError) as info:
        _load(tmp_path, """\
            steps:
              - at: 5s
                handset: "029e74a599"
                menu: [Menu, Select services, Call divert, No answer, {Status: "On", Ringz: 4}]
            """, head)
    (problem,) = info.value.problems
    assert problem.startswith(f"{tmp_path / 's.yaml'}:12: steps[0].menu: ")
    assert 'unknown field "Ringz" (did you mean "Rings"?)' in problem


def test_provisioning_errors_at_start_and_in_a_step(tmp_path):
    bad = '<provisioning version="1.1" productID="e2"><nvm><param name="SipAccount.0123456789.FeatureKeySyncActive" value="1"/></nvm></provisioning>'
    (tmp_path / "bad.xml").write_text(bad)
    scenario = _load(tmp_path, "steps:\n  - {at: 5s, base: {provisioning: bad.xml}}\n",
                     HEAD + "base:\n  provisioning: bad.xml\n")
    problems = check(scenario, "N870").problems
    assert len(problems) == 2
    assert problems[0].startswith(f"{scenario.file}:9: base.provisioning: ") and "0123456789" in problems[0]
    assert problems[1].startswith(f"{scenario.file}:11: steps[0].base.provisioning: ")


@pytest.mark.parametrize(("file", "stem"), [("scenarios/library/n670/dnd.yaml", "n670_dnd-N670"),
                                            ("dnd.yaml", "dnd-N670")])
def test_capture_names_come_from_the_file_and_the_model(file, stem):
    assert pcap_stem(file, "N670") == stem


def test_a_run_that_cannot_even_be_built_is_one_failed_result(tmp_path, monkeypatch):
    from scenarios import runner
    from scenarios.runner import Job, run_job

    scenario = _load(tmp_path, "expect:\n  - {at: end, handset: \"029e74a599\", state: {dnd: false}}\n")

    def broken(*_args, **_kwargs):
        raise RuntimeError("no world today")

    monkeypatch.setattr(runner, "build_world", broken)
    result = run_job(Job(scenario=scenario, model="N870", seed=0))
    assert not result.passed and "RuntimeError: no world today" in (result.error or "")
    assert [e.passed for e in result.expectations] == [False]
    assert result.trace.endswith("FAILED\n")


def test_a_handset_still_to_register_has_no_verdict_yet(tmp_path):
    head = HEAD.replace("    feature_key_sync: true\n", "    registered: false\n")
    result = _run(tmp_path, "expect:\n  - {at: end, dect: {message: LOCATE-REQUEST, count: 0}}\n", head=head)
    assert result.passed and result.fks == {}
    assert result.final["handsets"]["029e74a599"]["dnd"] is False
