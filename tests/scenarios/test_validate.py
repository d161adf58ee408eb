"""The scenario-file validator: the contract's example loads; each kind of error names file and line."""

import textwrap

import pytest

from dect.identity import Ipui
from scenarios.spec import Forward
from scenarios.validate import load_scenario
from scenarios.yamlsrc import ScenarioError, parse_count, parse_time

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


def test_counts():
    assert parse_count(3).holds(3) and not parse_count(3).holds(4)
    assert parse_count(">=1").holds(5) and not parse_count(">=1").holds(0)
    assert parse_count("<=2").holds(2) and not parse_count("<=2").holds(3)
    for bad in ("=3", -1, True, "x"):
        with pytest.raises(ValueError):
            parse_count(bad)
