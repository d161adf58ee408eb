"""The NVM keeps each handset's UAK from key allocation (issue 14 point 4), and a store written by the
previous schema version (without that table) is brought up to date when it is opened."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from dect.identity import Ipui
from firmware.nvm import SCHEMA_VERSION, NvmStore, RegStatus

IPUI = Ipui.parse("029e74a599")


def test_the_uak_survives_a_reopen_and_goes_with_the_handset(tmp_path: Path) -> None:
    path = str(tmp_path / "base.sqlite")
    store = NvmStore(path)
    store.add_handset(ipui=IPUI, reg_status=RegStatus.REGISTERED, dect_manager=1)
    assert store.uak(IPUI) is None
    store.set_uak(IPUI, bytes(range(16)))
    store.close()
    again = NvmStore(path)
    assert again.uak(IPUI) == bytes(range(16))
    again.remove_handset(IPUI)
    assert again.uak(IPUI) is None and again.uak(Ipui.parse("0123456789")) is None


def test_a_store_of_schema_version_1_is_migrated(tmp_path: Path) -> None:
    path = str(tmp_path / "old.sqlite")
    NvmStore(path).close()
    with sqlite3.connect(path) as db:   # what version 1 wrote: no dect_keys table
        db.execute("DROP TABLE dect_keys")
        db.execute("PRAGMA user_version = 1")
    store = NvmStore(path)
    store.add_handset(ipui=IPUI, reg_status=RegStatus.REGISTERED, dect_manager=1)
    store.set_uak(IPUI, b"\x01" * 16)
    assert store.uak(IPUI) == b"\x01" * 16
    store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
