"""The scenario-file validator: the contract's example loads; each kind of error names file and line."""

import math
import os
import textwrap

import pytest

from dect.identity import Ipui
from scenarios.spec import MAX_HANDSET_HOURS, Forward
from scenarios.validate import load_scenario
from scenarios.yamlsrc import (
    MAX_ALIAS_NODES,
    MAX_COUNT,
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_PROBLEMS,
    MAX_TIME,
    SHOW_CHARS,
    ScenarioError,
    Unreadable,
    bounded_problems,
    load_yaml,
    parse_count,
    parse_time,
    read_text,
    show,
)

MODELS = ("N610", "N670", "N870", "N870E", "embedded-integrator", "virtual-integrator")

# The example of spec/scenarios-and-cli.md §2, minus the provisioning path (tested separately).
CONTRACT_EXAMPLE = """\
scenario: DND from the handset menu reaches the server
models: [N670, N870]
seed: 7
duration: 120s
base:
  internal_telephony: false
  dect_managers: 2
  params: {"SipProvider.1.Domain": "as.example.com"}
handsets:
  - ipui: "029e74a599"
    type: S650H PRO
    user: "2001"
    password: "s3cret"
    feature_key_sync: true
    dect_manager: 1
server:
  fks: true
  reject: {SUBSCRIBE: 489}
  users:
    "2001": {dnd: false, cfa: {active: false, to: ""}, cfb: {active: false, to: ""}, cfna: {active: false, to: "", rings: 3}}
network:
  latency: 20ms
  jitter: 0ms
  loss: 0.0
  duplicate: 0.0
  reorder: 0.0
steps:
  - at: 5s
    handset: "029e74a599"
    menu: [Menu, Select services, Do not disturb, "On"]
  - at: 6s
    handset: "029e74a599"
    keys: [MENU, DOWN, OK, OK]
  - at: 7s
    handset: "029e74a599"
    dial: "*79"
  - at: 10s
    portal: {user: "2001", cfa: {active: true, to: "3000"}}
  - at: 12s
    fac: {user: "2001", code: "*78"}
  - at: 15s
    base: {internal_telephony: true}
  - at: 20s
    base: reboot
  - at: 25s
    server: restart
  - at: 30s
    handset: "029e74a599"
    out_of_range: true
  - at: 31s
    network: {loss: 0.3}
  - at: 35s
    handset: "029e74a599"
    roam_to: 2
expect:
  - at: 8s
    handset: "029e74a599"
    state: {dnd: true}
    display: "Do not disturb"
  - at: 8s
    server: {user: "2001", state: {dnd: true}}
  - at: end
    sip: {method: SUBSCRIBE, event: as-feature-event, count: 0}
  - at: end
    dect: {message: CISS-REGISTER, from: "029e74a599", count: ">=1"}
  - at: end
    fks: {handset: "029e74a599", supported: false, reason: internal telephony}
"""


def _load(tmp_path, text, name="s.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return load_scenario(path, MODELS)


def _problems(tmp_path, text):
    with pytest.raises(ScenarioError) as info:
        _load(tmp_path, text)
    return info.value.problems


def test_contract_example_loads(tmp_path):
    s = _load(tmp_path, CONTRACT_EXAMPLE)
    assert s.title == "DND from the handset menu reaches the server"
    assert s.models == ("N670", "N870") and s.seed == 7 and s.duration == 120.0
    assert s.base.dect_managers == 2 and s.base.params == {"SipProvider.1.Domain": "as.example.com"}
    (h,) = s.handsets
    assert h.ipui == Ipui.parse("029e74a599") and h.feature_key_sync and h.type == "S650H PRO"
    assert s.server.reject == {"SUBSCRIBE": 489}
    assert s.server.users[0].state.cfna == Forward(active=False, to="", rings=3)
    assert s.network == {"latency": 0.02, "jitter": 0.0, "loss": 0.0, "duplicate": 0.0, "reorder": 0.0}
    assert [st.kind for st in s.steps] == ["menu", "keys", "dial", "portal", "fac", "base", "base", "server",
                                            "out_of_range", "network", "roam_to"]
    assert s.steps[0].args["path"] == ["Menu", "Select services", "Do not disturb", "On"]
    assert s.steps[6].args == {"event": "reboot"}
    assert s.steps[10].args == {"dect_manager": 2}
    assert [e.kind for e in s.expectations] == ["handset", "server", "sip", "dect", "fks"]
    assert s.expectations[2].at is None and str(s.expectations[3].args["count"]) == ">=1"
    assert s.expectations[3].args["sender"] == "handset:029e74a599"


def test_default_duration_is_last_time_plus_sixty(tmp_path):
    s = _load(tmp_path, """\
        scenario: t
        models: all
        handsets: [{ipui: "029e74a599", user: "2001"}]
        steps: [{at: 5s, handset: "029e74a599", dial: "*78"}]
        expect: [{at: 9s, handset: "029e74a599", state: {dnd: true}}]
        """)
    assert s.models is None and s.duration == 69.0 and s.seed == 0


def test_form_as_last_menu_element(tmp_path):
    s = _load(tmp_path, """\
        scenario: t
        models: [n870]
        handsets: [{ipui: "029e74a599", user: "2001"}]
        steps:
          - at: 1s
            handset: "029e74a599"
            menu: [Menu, Select services, Call divert, No answer, {Status: "On", Number: "3002", Rings: 4}]
        """)
    assert s.models == ("N870",)
    assert s.steps[0].args["form"] == {"Status": "On", "Number": "3002", "Rings": "4"}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("scenario: t\nmodels: [N999]\n", 's.yaml:2: models[0]: unknown model "N999"'),
        ("scenario: t\nmodels: [N67]\n", '(did you mean "N670"?)'),
        ("scenario: t\nmodels: [N670]\nstepz: []\n", 's.yaml:3: stepz: unknown key "stepz" (did you mean "steps"?)'),
        ("models: [N670]\n", 'missing required key "scenario"'),
        ("scenario: t\nmodels: [N670]\nsteps:\n  - at: 5 parsecs\n    server: restart\n",
         "s.yaml:4: steps[0].at: '5 parsecs' is not a time"),
        ("scenario: t\nmodels: [N670]\nsteps:\n  - at: 5s\n    handset: \"029e74a599\"\n    dial: \"*78\"\n",
         's.yaml:5: steps[0].handset: unknown handset "029e74a599"'),
        ("scenario: t\nmodels: [N670]\nsteps:\n  - at: 5s\n    portal: {user: \"9\", dnd: true}\n",
         'unknown user "9"'),
        ("scenario: t\nmodels: [N670]\nhandsets: [{ipui: \"zz\", user: \"1\"}]\n",
         "s.yaml:3: handsets[0].ipui:"),
        ("scenario: t\nmodels: [N670]\nhandsets: [{ipui: \"029e74a599\", user: \"1\"}]\n"
         "steps:\n  - at: 1s\n    handset: \"029e74a599\"\n    keys: [MENU, OKK]\n",
         'unknown key "OKK" (did you mean "OK"?)'),
        ("scenario: t\nmodels: [N670]\nhandsets: [{ipui: \"029e74a599\", user: \"1\", registered: false}]\n"
         "steps:\n  - at: 1s\n    handset: \"029e74a599\"\n    register: \"12345\"\n",
         's.yaml:7: steps[0].register: "12345" is not a PIN'),
        ("scenario: t\nmodels: [N670]\nsteps:\n  - at: 1s\n    base: rebot\n",
         'unknown base event "rebot" (did you mean "reboot"?)'),
        ("scenario: t\nmodels: [N670]\nnetwork: {loss: 3}\n", "s.yaml:3: network.loss: must be a probability"),
        ("scenario: t\nmodels: [N670]\nexpect:\n  - at: end\n    sip: {method: SUBSCRIBE, count: \"~3\"}\n",
         "is not a count"),
        ("scenario: t\nmodels: [N670]\nexpect:\n  - at: end\n    server: {user: \"1\"}\n",
         'missing required key "state"'),
        ("scenario: t\nmodels: [N670]\nsteps:\n  - at: 1s\n    server: restart\n    portal: {user: x}\n",
         "needs exactly one of"),
        ("scenario: t\nmodels: [N670]\nserver:\n  users:\n    \"1\": {cfna: {active: true, rings: 1}}\n",
         "rings must be 0 or 2..20"),
        ("scenario: [t\n", "s.yaml:2: YAML syntax error"),
        ("scenario: t\nscenario: u\nmodels: [N670]\n", "YAML syntax error"),
        ("- just a list\n", "s.yaml:1: a scenario file is a mapping"),
    ],
)
def test_errors_name_file_line_and_field(tmp_path, body, expected):
    problems = _problems(tmp_path, body)
    assert any(expected in p for p in problems), problems
    assert all(p.startswith(str(tmp_path / "s.yaml")) for p in problems)


def test_every_problem_is_reported_not_just_the_first(tmp_path):
    problems = _problems(tmp_path, "scenario: t\nmodels: [N999]\nseed: -1\nnetwork: {loss: 2}\n")
    assert len(problems) == 3


def test_provisioning_path_is_read_relative_to_the_file(tmp_path):
    (tmp_path / "p.xml").write_text("<provisioning/>")
    s = _load(tmp_path, "scenario: t\nmodels: [N870]\nbase: {provisioning: p.xml}\n")
    assert s.base.provisioning == "<provisioning/>" and s.base.provisioning_source == str(tmp_path / "p.xml")
    problems = _problems(tmp_path, "scenario: t\nmodels: [N870]\nbase: {provisioning: missing.xml}\n")
    assert "cannot read provisioning file" in problems[0]


def test_unreadable_file(tmp_path):
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "nope.yaml", MODELS)


@pytest.mark.parametrize(("text", "seconds"), [("250ms", 0.25), ("5s", 5.0), ("2m", 120.0), ("1h", 3600.0),
                                               (3, 3.0), (1.5, 1.5), ("7", 7.0)])
def test_times(text, seconds):
    assert parse_time(text) == seconds


@pytest.mark.parametrize("text", ["5 s s", "-1", True, None, "1d", -2])
def test_bad_times(text):
    with pytest.raises(ValueError):
        parse_time(text)


@pytest.mark.parametrize(("value", "message"), [
    (math.inf, "not a finite number"), (-math.inf, "not a finite number"), (math.nan, "not a finite number"),
    (1e12, "more than the limit of 30 days"), (10**12, "more than the limit of 30 days"),
    (10**400, "not a finite number"), ("721h", "more than the limit"), (-0.5, "negative"),
    ("9" * 5000 + "s", "is not a time"), ("1" + "0" * 12 + "s", "is not a time"),
])
def test_times_are_finite_and_within_the_limit(value, message):
    with pytest.raises(ValueError, match=message) as info:
        parse_time(value)
    assert len(str(info.value)) < 200


def test_time_limit_is_thirty_days_inclusive():
    assert MAX_TIME == 30 * 24 * 3600
    assert parse_time("720h") == MAX_TIME and parse_time(MAX_TIME) == MAX_TIME


def test_counts_are_bounded():
    assert parse_count(MAX_COUNT).n == MAX_COUNT and parse_count(f"<={MAX_COUNT}").n == MAX_COUNT
    for bad in (MAX_COUNT + 1, f">={MAX_COUNT + 1}", "9" * 5000, 10**5000):
        with pytest.raises(ValueError) as info:
            parse_count(bad)
        assert len(str(info.value)) < 200


def test_show_cuts_values_and_never_walks_structures():
    assert show("x" * 1000).startswith("'xxx") and "(1002 characters)" in show("x" * 1000)
    assert len(show("x" * 10**6)) < SHOW_CHARS + 40
    shared: list = []
    shared.append(shared)   # a structure that contains itself
    assert show(shared) == "a list of 1 item(s)" and show({"a": 1}) == "a mapping of 1 item(s)"


def test_problem_lists_are_bounded_when_printed():
    lines = bounded_problems([f"f:{i}: {'y' * 1000}" for i in range(500)])
    assert len(lines) == MAX_PROBLEMS + 1 and lines[-1] == f"... and {500 - MAX_PROBLEMS} more problem(s)"
    assert all(len(line) < 500 for line in lines)
    err = ScenarioError([f"f:{i}: bad" for i in range(500)])
    assert len(err.problems) == 500 and len(str(err).splitlines()) == MAX_PROBLEMS + 1


# ------------------------------------------------------------------------------ limits of the reader


def _limit(tmp_path, body: str) -> str:
    path = tmp_path / "h.yaml"
    path.write_text(body)
    with pytest.raises(ScenarioError) as info:
        load_yaml(path)
    (problem,) = info.value.problems
    assert problem.startswith(f"{path}:")
    assert len(problem) < 400
    return problem.removeprefix(f"{path}:")


def test_alias_bomb_is_refused_at_the_alias_that_crosses_the_budget(tmp_path):
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]")
    problem = _limit(tmp_path, "\n".join(lines) + "\n")
    # b, c and d add 90 + 819 + 7380 nodes; the first *d on line 5 brings 7381 more.
    assert problem == (f"5: aliases expand to more than {MAX_ALIAS_NODES} nodes in all "
                       "(*d alone stands for 7381); write the values out")


def test_aliases_within_the_budget_still_work(tmp_path):
    s = _load(tmp_path, """\
        scenario: t
        models: [N870]
        handsets: [{ipui: "029e74a599", user: "2001"}]
        steps:
          - {at: 1s, handset: "029e74a599", menu: &dnd [Menu, Select services, Do not disturb, "On"]}
          - {at: 2s, handset: "029e74a599", menu: *dnd}
        """)
    dnd = ["Menu", "Select services", "Do not disturb", "On"]
    assert s.steps[0].args["path"] == s.steps[1].args["path"] == dnd


DEEP = f"lists and mappings nested more than {MAX_DEPTH} levels deep"


@pytest.mark.parametrize(("body", "expected"), [
    ("a: &a [*a]\n", "1: the alias *a is used inside its own anchor"),
    ("a: &a {b: {c: *a}}\n", "1: the alias *a is used inside its own anchor"),
    ("a: *nope\n", "1: YAML syntax error: found undefined alias 'nope'"),
    ("x: " + "[" * 10_000 + "]" * 10_000 + "\n", f"1: {DEEP}"),
    ("x: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n", f"1: {DEEP}"),
    ("- " * 10_000 + "x\n", f"1: {DEEP}"),
    ("".join(" " * i + "a:\n" for i in range(1000)), f"33: {DEEP}"),
    ("a: &a {x: 1}\nb:\n  <<: *a\n", "3: merge keys (<<) are not supported"),
    ("b:\n  <<: {x: 1}\n", "2: merge keys (<<) are not supported"),
    ("a: &a {x: 1}\nb: {<<: [*a]}\n", "2: merge keys (<<) are not supported"),
    ("a: !!python/object/apply:os.system [ls]\n", "1: the tag !!python/object/apply:os.system is not"),
    ("a: !!int 5\n", "1: the tag !!int is not supported"),
    ("a: !!binary aGVsbG8=\n", "1: the tag !!binary is not supported"),
    ("a: !local x\n", "1: the tag !local is not supported"),
    ("a: !!str 5\n", "1: the tag !!str is not supported in scenario files (quote the value to make it text)"),
    ("a: ! 5\n", "1: the tag ! is not supported"),
    ("a: !!map {x: 1}\n", "1: the tag !!map is not supported"),
    ("? [a, b]\n: 1\n", "1: a mapping key must be a plain value"),
    ("a: &k [1]\n*k : 2\n", "2: a mapping key must be a plain value"),
    ("a: " + "9" * 5000 + "\n", "1: a number of 5000 characters is longer than the limit of 32"),
    ("a: -" + "1" * 40 + ".5e3\n", "1: a number of 45 characters is longer than the limit of 32"),
    ("%YAML 1.1\n---\na: " + "1:" * 30 + "1\n", "3: a number of 61 characters is longer than the limit"),
    ("a: 1\n---\nb: 2\n", "YAML syntax error: but found another document"),
])
def test_reader_limits_name_the_line(tmp_path, body, expected):
    assert expected in _limit(tmp_path, body)


def test_reader_keeps_what_the_limits_allow(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text("a: " + "[" * (MAX_DEPTH - 1) + "1" + "]" * (MAX_DEPTH - 1) + "\n"
                    "d: " + "9" * 32 + "\ne: '" + "9" * 5000 + "'\nf: &f {x: 1}\ng: *f\nh: &f 2\ni: *f\n")
    root = load_yaml(path).value
    assert root["d"] == int("9" * 32) and len(root["e"]) == 5000 and root["g"] == {"x": 1} and root["i"] == 2


def test_reader_limits_the_text_given_directly(tmp_path):
    with pytest.raises(ScenarioError, match="more than the limit of 1048576 bytes"):
        load_yaml(tmp_path / "t.yaml", "a: " + "x" * MAX_FILE_BYTES)


# ------------------------------------------------------------------------------ files a scenario reads


def test_read_text_refuses_what_is_not_a_small_regular_file(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    big = tmp_path / "big"
    big.write_bytes(b"x")
    os.truncate(big, MAX_FILE_BYTES + 1)
    exact = tmp_path / "exact"
    exact.write_bytes(b"x" * MAX_FILE_BYTES)
    refusals = ((tmp_path / "fifo", "is not a regular file"), ("/dev/zero", "is not a regular file"),
                (tmp_path, "is a folder, not a file"), (big, f"is {MAX_FILE_BYTES + 1} bytes"),
                (tmp_path / "missing", "cannot read: No such file"))
    for path, message in refusals:
        with pytest.raises(Unreadable, match=message):
            read_text(path)
    assert len(read_text(exact)) == MAX_FILE_BYTES
    bad = tmp_path / "bad"
    bad.write_bytes(b"a\nb\n\xff\n")
    with pytest.raises(Unreadable) as info:
        read_text(bad)
    assert info.value.line == 3 and "not UTF-8" in info.value.problem


@pytest.mark.parametrize("make", ["dev-zero", "fifo", "folder", "50MB"])
@pytest.mark.parametrize("in_step", [False, True])
def test_provisioning_path_must_be_a_small_regular_file(tmp_path, make, in_step):
    target = {"dev-zero": "/dev/zero", "fifo": "p.fifo", "folder": "p.d", "50MB": "p.xml"}[make]
    if make == "fifo":
        os.mkfifo(tmp_path / target)
    elif make == "folder":
        (tmp_path / target).mkdir()
    elif make == "50MB":
        (tmp_path / target).write_bytes(b"<provisioning/>")
        os.truncate(tmp_path / target, 50 * 1024 * 1024)
    head = "scenario: t\nmodels: [N870]\n"
    body = head + (f"steps:\n  - at: 1s\n    base: {{provisioning: {target}}}\n" if in_step
                   else f"base: {{provisioning: {target}}}\n")
    (problem,) = _problems(tmp_path, body)
    field = "5: steps[0].base.provisioning" if in_step else "3: base.provisioning"
    assert problem.startswith(f"{tmp_path / 's.yaml'}:{field}: cannot read provisioning file "), problem
    assert {"dev-zero": "is not a regular file", "fifo": "is not a regular file", "folder": "is a folder",
            "50MB": "is 52428800 bytes, more than the limit"}[make] in problem


def test_long_values_are_cut_in_messages(tmp_path):
    problems = _problems(tmp_path, "scenario: t\nmodels: [N670]\nseed: " + "x" * 100_000 + "\n"
                         + "? " + "k" * 100_000 + "\n: 1\n")
    assert len(problems) == 2 and all(len(p) < 400 for p in problems)
    assert all(" characters)" in p for p in problems), problems   # each value cut, saying how long it was
    assert any("s.yaml:3: seed: must be a whole number" in p for p in problems)
    assert any('s.yaml:4: kkkk' in p and 'unknown key "kkkk' in p for p in problems)


def test_counts():
    assert parse_count(3).holds(3) and not parse_count(3).holds(4)
    assert parse_count(">=1").holds(5) and not parse_count(">=1").holds(0)
    assert parse_count("<=2").holds(2) and not parse_count("<=2").holds(3)
    for bad in ("=3", -1, True, "x"):
        with pytest.raises(ValueError):
            parse_count(bad)


def _fleet(count: int, tail: str) -> str:
    return "scenario: t\nmodels: [N870]\nhandsets:\n" + "".join(
        f'  - {{ipui: "{0x029E740000 + i:010x}", user: "{i}"}}\n' for i in range(count)) + tail


def test_simulated_work_is_bounded_in_handset_hours(tmp_path):
    assert MAX_HANDSET_HOURS == 20_000
    assert _load(tmp_path, _fleet(27, "duration: 720h\n")).duration == MAX_TIME   # 19,440 handset-hours
    (problem,) = _problems(tmp_path, _fleet(28, "duration: 720h\n"))
    assert problem == (f"{tmp_path / 's.yaml'}:32: duration: 28 handsets for 720 h of simulated time are "
                       "20,160 handset-hours, more than the limit of 20,000 (20,000 handsets for an hour, "
                       "27 for 30 days)")
    # Without `duration` the run lasts to the last time + 60 s, and the handsets are named.
    (problem,) = _problems(tmp_path, _fleet(28, "expect:\n  - {at: 720h, server: {user: \"1\", "
                                                "state: {dnd: false}}}\n"))
    assert problem.startswith(f"{tmp_path / 's.yaml'}:3: handsets: 28 handsets for 720 h")


def test_a_dial_longer_than_a_keypad_ie_holds_is_refused_at_its_line(tmp_path) -> None:
    problems = _problems(tmp_path, "scenario: too long\nmodels: [N870]\nduration: 10s\n"
                         'handsets:\n  - {ipui: "029e74a599", user: "2001"}\n'
                         f'steps:\n  - at: 1s\n    handset: "029e74a599"\n    dial: "{"1" * 256}"\n')
    assert any(":9" in str(p) and "256 digits are too many to dial (at most 255)" in str(p) for p in problems), problems


def test_a_user_name_that_would_inject_sip_headers_is_refused_at_its_line(tmp_path) -> None:
    problems = _problems(tmp_path, "scenario: injected\nmodels: [N870]\nduration: 10s\n"
                         'handsets:\n  - {ipui: "029e74a599", user: "2001\\r\\nX-Evil: 1"}\n'
                         'server:\n  users:\n    "a b": {dnd: true}\n')
    text = "\n".join(str(p) for p in problems)
    assert ":5" in text and "not a usable user name" in text and "control character" in text, text
    assert ":8" in text and "not allowed in the user part of a SIP URI" in text, text
