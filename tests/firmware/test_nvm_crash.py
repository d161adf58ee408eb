"""Crash consistency: a process killed (SIGKILL) in the middle of applying a provisioning file leaves
the store holding exactly the old state or exactly the new one (issue 2, point 4)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from dect.identity import Ipui
from firmware.nvm import Account, NvmStore, RegStatus
from firmware.provisioning import apply, parse_provisioning
from models.profiles import get_profile

HERE = Path(__file__).parent
GOOD = HERE / "data" / "good.xml"
ROOT = HERE.parent.parent

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")


def _state(store: NvmStore) -> dict:
    """The store's contents, with the admin password as "which password works" (its salt is random)."""
    snap = store.snapshot()
    snap.pop("admin")
    snap["admin_password"] = [p for p in ("admin", "N3w-admin") if store.verify_admin_password(p)]
    return snap


def _old_store(path: Path) -> None:
    with NvmStore(path) as store:
        store.add_handset(ipui=Ipui.parse("029e74a599"), reg_status=RegStatus.REGISTERED)
        store.put_account(Ipui.parse("029e74a599"), Account(user_name="old", feature_key_sync_active=False))
        store.add_handset(ipui=Ipui.parse("0aaaaaaaaa"), reg_status=RegStatus.REGISTERED)
        store.set_system_param("DmGlobal.0.SystemName", "Old ward")


@pytest.fixture(scope="module")
def states(tmp_path_factory):
    """(old state, new state, number of writes the apply makes), computed in-process."""
    folder = tmp_path_factory.mktemp("crash")
    old_path, new_path = folder / "old.sqlite", folder / "new.sqlite"
    _old_store(old_path)
    shutil.copy(old_path, new_path)
    with NvmStore(old_path) as store:
        old = _state(store)
    writes: list[str] = []
    with NvmStore(new_path, write_hook=writes.append) as store:
        assert apply(parse_provisioning(GOOD.read_bytes()), store, get_profile("N870")) == []
        new = _state(store)
    assert old != new
    return old, new, len(writes)


def _run_child(tmp_path: Path, limit: int) -> tuple[str, dict]:
    path = tmp_path / "nvm.sqlite"
    _old_store(path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, str(HERE / "crash_child.py"), str(path), str(GOOD), "N870", str(limit)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline().strip()
        if line == "paused":
            child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert line in ("paused", "done"), child.stderr.read() if child.stderr else ""
    if line == "paused":
        assert child.returncode == -signal.SIGKILL
    with NvmStore(path) as store:
        return line, _state(store)


def test_apply_makes_many_writes(states):
    assert states[2] > 20  # so that "mid-apply" has room


@pytest.mark.parametrize("fraction", [0.0, 0.5, 1.0])
def test_killed_mid_apply_leaves_the_old_state(tmp_path, states, fraction):
    old, _, total = states
    # After the first write, the middle one, and the very last one (all writes done, COMMIT not yet).
    limit = max(1, min(total, int(total * fraction)))
    line, state = _run_child(tmp_path, limit)
    assert line == "paused"
    assert state == old


def test_apply_that_completes_leaves_the_new_state(tmp_path, states):
    _, new, total = states
    line, state = _run_child(tmp_path, total + 1)
    assert line == "done"
    assert state == new
