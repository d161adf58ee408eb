"""The per-user server knobs of a scenario file (issue 12 §1): read, checked with file and line, and
applied to the world's server at the start and by a step."""

import textwrap

import pytest

from scenarios.runner import run_scenario
from scenarios.validate import load_scenario
from scenarios.yamlsrc import ScenarioError
from sip.state import Feature

MODELS = ("N610", "N670", "N870", "N870E", "embedded-integrator", "virtual-integrator")

HEAD = """\
scenario: knobs
models: [N870]
handsets:
  - ipui: "029e74a599"
    user: "2001"
    feature_key_sync: true
"""


def load(text, tmp_path):
    path = tmp_path / "knobs.yaml"
    path.write_text(HEAD + textwrap.dedent(text))
    return load_scenario(path, MODELS)


def test_knobs_are_read_per_user(tmp_path):
    scenario = load("""\
        server:
          services: {"2001": [dnd, cfa]}
          extra_parts: {"2001": [call-center, {type: application/x-other+xml, body: "<a/>"}]}
          extra_elements: {"2001": ["<featureVersion>2</featureVersion>"]}
        steps:
          - at: 5s
            server: {services: {"2001": [dnd]}}
        """, tmp_path)
    assert scenario.server.knobs == {
        "services": {"2001": ("dnd", "cfa")},
        "extra_parts": {"2001": (("call-center", ""), ("application/x-other+xml", "<a/>"))},
        "extra_elements": {"2001": ("<featureVersion>2</featureVersion>",)},
    }
    (step,) = scenario.steps
    assert step.args == {"change": {"services": {"2001": ("dnd",)}}}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('server: {services: {"2001": [dnd, cfx]}}', 'knobs.yaml:7: server.services.2001[1]: unknown service "cfx"'),
        ('server: {services: {"9999": [dnd]}}', 'unknown user "9999"'),
        ('server: {services: {"2001": dnd}}', "must be a list"),
        ('server: {extra_parts: {"2001": [acd]}}', 'unknown part "acd"'),
        ('server: {extra_parts: {"2001": [{type: xml, body: "<a/>"}]}}', "must be a media type"),
        ('server: {extra_elements: {"2001": ["<a>"]}}', "must be one well-formed XML element"),
    ],
)
def test_bad_knobs_are_named_with_file_and_line(tmp_path, text, problem):
    with pytest.raises(ScenarioError) as info:
        load(text + "\n", tmp_path)
    assert any(problem in p for p in info.value.problems), info.value.problems


def test_the_world_server_gets_the_knobs_and_a_step_changes_them(tmp_path, monkeypatch):
    scenario = load("""\
        duration: 20s
        server:
          services: {"2001": [dnd]}
          extra_parts: {"2001": [call-center]}
        steps:
          - at: 5s
            server: {services: {"2001": [dnd, cfb]}, extra_elements: {"2001": ["<v>1</v>"]}}
        """, tmp_path)
    result, world = run_scenario(scenario, "N870")
    user = world.server.directory.require("2001")
    assert user.services == {Feature.DND, Feature.CFB}
    assert len(user.extra_parts) == 1 and user.extra_elements == ("<v>1</v>",)
    assert any("AgentStateEvent" in text for _, _, text in world.reports)
    assert result.passed
