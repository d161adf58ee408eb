"""Issue 17: the state diagrams in docs/diagrams are drawn from the tables themselves, and a table
that changed without `make diagrams` fails here."""

from __future__ import annotations

import os
import shutil
import xml.etree.ElementTree as ET

import pytest

from scenarios import diagrams


def test_every_committed_diagram_matches_its_table() -> None:
    assert diagrams.stale() == [], "run `make diagrams` and commit docs/diagrams"


def test_every_machine_row_is_an_edge() -> None:
    from firmware.fks import TRANSITIONS
    dot = next(d for d in diagrams.diagrams() if d.name == "firmware-fks").dot()
    for (_state, event), (action, _target) in TRANSITIONS.items():
        assert f"{event.value} / {action.lstrip('_')}" in dot


def test_a_changed_table_is_stale(tmp_path, monkeypatch) -> None:
    from sip import notifier
    for d in diagrams.diagrams():
        (tmp_path / f"{d.name}.dot").write_text(d.dot())
        (tmp_path / f"{d.name}.svg").write_text(f"<svg><!-- fksim diagram source sha256:{diagrams.digest(d.dot())} --></svg>")
    assert diagrams.stale(tmp_path) == []
    changed = dict(notifier.PHASES)
    changed[(notifier.SubscriptionPhase.ENDED, notifier.PhaseInput.ACCEPT)] = notifier.SubscriptionPhase.ACTIVE
    monkeypatch.setattr(notifier, "PHASES", changed)
    assert [p.rsplit("/", 1)[-1] for p in diagrams.stale(tmp_path)] == ["sip-notifier.dot", "sip-notifier.svg"]


def test_graphviz_draws_valid_svg() -> None:
    if shutil.which("dot") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("graphviz (dot) is not installed; .ci/run installs it")
        pytest.skip("graphviz (dot) is not installed")
    dot = diagrams.diagrams()[0].dot()
    svg = diagrams.render(dot)
    root = ET.fromstring(svg.encode())
    assert root.tag.endswith("svg") and f"sha256:{diagrams.digest(dot)}" in svg
