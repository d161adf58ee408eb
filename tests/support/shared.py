"""`../shared` beside the checkout: the independent capture checkers and the RFC 4475 torture set.

Tests that need it skip when it (or what a checker runs on) is missing on a developer's machine, and
fail instead under CI (`CI=true`).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2].parent / "shared"


def shared_tool(name: str) -> Path:
    """The checker `name` in ../shared/tools: check-sip-pcap needs tshark, check-dect-pcap chroot and root."""
    path = SHARED / "tools" / name
    needs = "tshark" if name == "check-sip-pcap" else "chroot"
    if not path.exists() or shutil.which(needs) is None or (name == "check-dect-pcap" and os.getuid() != 0):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} or what it needs is missing under CI")
        pytest.skip(f"{name} needs {SHARED} and {needs}")
    return path
