"""The live twin's guard and its rate-limited log (issue 11, finding 1): whatever handling one
message raises is logged, counted and survived; a flood is logged once per source in a window."""

from __future__ import annotations

import types

from scenarios.live.ratelog import RateLimitedLog
from scenarios.live.twin import LiveTwin
from sip.errors import RemoteProtocolError


def _twin(lines: list[str]) -> types.SimpleNamespace:
    fake = types.SimpleNamespace(dropped=0, netlog=RateLimitedLog(write=lines.append))
    fake._dropped = lambda endpoint, source, why: LiveTwin._dropped(fake, endpoint, source, why)  # type: ignore[arg-type]
    return fake


def test_any_error_a_message_trips_is_survived_and_logged() -> None:
    lines: list[str] = []
    twin = _twin(lines)

    def explode(kind: type[Exception]) -> None:
        raise kind("boom")

    LiveTwin._guarded(twin, "dm1", ("192.0.2.9", 5060), explode, ValueError)  # type: ignore[arg-type]
    LiveTwin._guarded(twin, "dm1", ("192.0.2.8", 5060), explode, RemoteProtocolError)  # type: ignore[arg-type]
    assert twin.dropped == 2
    assert "internal error ValueError: boom" in lines[0] and "192.0.2.9:5060" in lines[0]
    assert "dropped: 400 boom" in lines[1]


def test_a_flood_from_one_source_is_one_line_per_window() -> None:
    lines: list[str] = []
    log = RateLimitedLog(window=10.0, write=lines.append)
    for n in range(1000):
        log.log(n * 0.001, ("dropped", ("192.0.2.9", 5060)), "bad")
    assert lines == ["bad"] and log.held == 999
    log.log(11.0, ("dropped", ("192.0.2.9", 5060)), "bad")
    assert lines[-1] == "bad (999 more like it held back)"


def test_forged_sources_cannot_grow_the_log_state_without_bound() -> None:
    log = RateLimitedLog(max_sources=16, write=lambda _line: None)
    for n in range(10_000):
        log.log(0.0, ("notice", (f"192.0.2.{n % 250}", n)), "refused")
    assert len(log._last) <= 16 and log.printed == 10_000
