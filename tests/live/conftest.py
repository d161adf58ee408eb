"""Fixtures for the live twin's tests (helpers in `live.kit`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from live.kit import Serve, start_serve, stop_process


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    """`serve(*args)` starts `fksim serve`; every process started is stopped at the end of the test."""
    started: list[Serve] = []

    def start(*args: str) -> Serve:
        s = start_serve(tmp_path, *args)
        started.append(s)
        return s

    yield start
    for s in started:
        if s.process.poll() is None:
            stop_process(s.process)
