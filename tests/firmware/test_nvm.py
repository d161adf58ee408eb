"""The NVM store: typed round trips, transactions, schema versioning, the admin password."""

from __future__ import annotations

import os
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dect.identity import Ipui
from firmware.nvm import (
    INTERNAL_TELEPHONY_PARAM,
    SCHEMA_VERSION,
    Account,
    Handset,
    NvmError,
    NvmStore,
    RegStatus,
    SipProvider,
    TransportProtocol,
    TrunkAssignment,
    TrunkDirection,
)

A = Ipui.parse("029e74a599")
B = Ipui.parse("0123456789")


@pytest.fixture
def store():
    with NvmStore(":memory:") as s:
        yield s


def test_fresh_store_defaults(store):
    assert store.handsets() == []
    assert store.providers() == []
    assert store.internal_telephony is False
    assert store.verify_admin_password("admin")
    assert store.admin_must_change_password


def test_handset_round_trip_by_index_and_ipui(store):
    added = store.add_handset(ipui=A, dect_ac="1234")
    assert added == Handset(index=1, ipui=A, reg_status=RegStatus.TO_REG, dect_ac="1234", dect_manager=1)
    assert store.handset(A) == added == store.handset(1)
    assert store.handset(B) is None and store.handset(2) is None


def test_free_index_fills_gaps(store):
    store.add_handset(ipui=A)
    store.add_handset(ipui=None, index=3)
    assert store.add_handset(ipui=B).index == 2
    assert store.free_index() == 4


def test_duplicate_ipui_or_index_is_an_error(store):
    store.add_handset(ipui=A, index=1)
    with pytest.raises(NvmError, match="UNIQUE"):
        store.add_handset(ipui=A)
    with pytest.raises(NvmError):
        store.add_handset(ipui=B, index=1)
    with pytest.raises(NvmError, match="not 1 or more"):
        store.add_handset(ipui=B, index=0)


def test_slot_opened_by_index_binds_ipui_later(store):
    store.add_handset(ipui=None, index=5)
    assert store.handset(5) == Handset(index=5, ipui=None)
    store.bind_ipui(5, B)
    store.set_reg_status(B, RegStatus.REGISTERED)
    store.set_dect_manager(B, 2)
    assert store.handset(5) == Handset(index=5, ipui=B, reg_status=RegStatus.REGISTERED, dect_manager=2)


def test_account_round_trip_and_fks_default_off(store):
    store.add_handset(ipui=A)
    assert store.account(A) is None
    assert Account().feature_key_sync_active is False
    account = Account(auth_name="2001", auth_password="s3cret", user_name="2001", display_name="Reception",
                      provider_id=2, voicemail_mailbox="*86", voicemail_active=True, feature_key_sync_active=True)
    store.put_account(A, account)
    assert store.account(1) == account


def test_remove_handset_deletes_account_and_trunks(store):
    store.add_handset(ipui=A)
    store.put_account(A, Account(user_name="2001"))
    store.assign_trunk(A, 3, TrunkDirection.RECEIVE)
    store.remove_handset(A)
    assert store.handset(A) is None
    assert store.trunk_assignments() == []
    assert store._read("SELECT COUNT(*) FROM accounts")[0][0] == 0


def test_unknown_handset_is_an_error(store):
    with pytest.raises(NvmError, match="no handset 029e74a599"):
        store.put_account(A, Account())
    with pytest.raises(NvmError, match="no handset 7"):
        store.set_reg_status(7, RegStatus.REGISTERED)


def test_provider_round_trip(store):
    provider = SipProvider(provider_id=1, name="BroadWorks", domain="as.example.com", proxy_server_port=5070,
                           transport_protocol=TransportProtocol.TLS, mwi_subscription=True)
    store.put_provider(provider)
    assert store.provider(1) == provider
    assert store.provider(2) is None
    assert store.providers() == [provider]


def test_trunks_one_send_many_receive(store):
    store.add_handset(ipui=A)
    store.assign_trunk(A, 0, TrunkDirection.SEND)
    store.assign_trunk(A, 1, TrunkDirection.SEND)
    store.assign_trunk(A, 2, TrunkDirection.RECEIVE)
    store.assign_trunk(A, 3, TrunkDirection.RECEIVE)
    assert store.trunk_assignments() == [
        TrunkAssignment(index=1, trunk=2, direction=TrunkDirection.RECEIVE),
        TrunkAssignment(index=1, trunk=3, direction=TrunkDirection.RECEIVE),
        TrunkAssignment(index=1, trunk=1, direction=TrunkDirection.SEND),
    ]
    store.unassign_trunk(A, 2, TrunkDirection.RECEIVE)
    assert len(store.trunk_assignments()) == 2


def test_system_params_and_internal_telephony(store):
    store.set_system_param("DmGlobal.0.Name", "Ward 3")
    store.set_internal_telephony(True)
    assert store.internal_telephony
    assert store.system_params() == {"DmGlobal.0.Name": "Ward 3", INTERNAL_TELEPHONY_PARAM: "1"}


def test_admin_password_is_salted_hash(store):
    store.set_admin_password("n3w-Secret")
    assert not store.verify_admin_password("admin")
    assert store.verify_admin_password("n3w-Secret")
    assert not store.admin_must_change_password
    salt, digest = store._read("SELECT salt, hash FROM web_admin")[0]
    assert b"n3w-Secret" not in bytes(salt) + bytes(digest)
    with pytest.raises(NvmError, match="must not be empty"):
        store.set_admin_password("")


def test_same_password_gets_a_fresh_salt(store):
    store.set_admin_password("x")
    first = store._read("SELECT salt, hash FROM web_admin")[0]
    store.set_admin_password("x")
    assert store._read("SELECT salt, hash FROM web_admin")[0] != first


def test_transaction_rolls_back_on_error(store):
    store.add_handset(ipui=A)
    with pytest.raises(RuntimeError), store.transaction():
        store.put_account(A, Account(user_name="2001"))
        store.add_handset(ipui=B)
        with store.transaction():  # nested: joins the outer one
            store.set_internal_telephony(True)
        raise RuntimeError("boom")
    assert store.account(A) is None
    assert store.handset(B) is None
    assert not store.internal_telephony
    # and the store is usable afterwards
    store.add_handset(ipui=B)
    assert store.handset(B) is not None


def test_file_backed_store_persists(tmp_path):
    path = tmp_path / "nvm.sqlite"
    with NvmStore(path) as store:
        store.add_handset(ipui=A, reg_status=RegStatus.REGISTERED)
        store.put_account(A, Account(feature_key_sync_active=True))
        before = store.snapshot()
    with NvmStore(path) as store:
        assert store.snapshot() == before
        assert store.account(A) == Account(feature_key_sync_active=True)


def test_snapshot_is_plain_data(store):
    store.add_handset(ipui=A)
    snap = store.snapshot()
    assert snap["handsets"] == [{"index": 1, "ipui": "029e74a599", "reg_status": "ToReg", "dect_ac": None,
                                 "dect_manager": 1, "account": None, "local_features": None}]


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "nvm.sqlite"
    NvmStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(NvmError, match=f"schema version {SCHEMA_VERSION + 1} is newer"):
        NvmStore(path)


def test_a_schema_version_without_tables_is_a_clear_error(tmp_path):
    path = tmp_path / "empty.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    with pytest.raises(NvmError) as caught:
        NvmStore(path)
    assert str(caught.value) == (
        f"{path}: not a usable NVM store (schema version {SCHEMA_VERSION}): table system_params is missing")


@pytest.mark.parametrize("path", ["/dev/zero", "fifo", "."])
def test_a_path_that_is_not_a_regular_file_is_a_clear_error(tmp_path, path):
    if path == "fifo":
        os.mkfifo(tmp_path / "fifo")
    target = path if path.startswith("/") else str(tmp_path / path)
    with pytest.raises(NvmError, match="cannot open the NVM store: not a regular file"):
        NvmStore(target)


def test_a_table_without_its_columns_is_a_clear_error(tmp_path):
    path = tmp_path / "nvm.sqlite"
    NvmStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE accounts")
        db.execute('CREATE TABLE accounts (idx INTEGER PRIMARY KEY, "odd""name" TEXT)')
    with pytest.raises(NvmError, match="table accounts lacks column\\(s\\) auth_name, auth_password"):
        NvmStore(path)


def test_not_a_database_is_a_clear_error(tmp_path):
    path = tmp_path / "junk.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(NvmError, match="cannot open the NVM store"):
        NvmStore(path)


def test_write_hook_sees_every_write():
    seen: list[str] = []
    hooked = NvmStore(":memory:", write_hook=seen.append)
    hooked.add_handset(ipui=A)
    hooked.put_account(A, Account())
    assert [s.split()[0] for s in seen[-2:]] == ["INSERT", "INSERT"]


def test_locked_store_is_a_clear_error(tmp_path):
    path = tmp_path / "nvm.sqlite"
    with NvmStore(path) as first:
        second = NvmStore(path)
        second._db.execute("PRAGMA busy_timeout = 0")
        with first.transaction():
            first.set_system_param("DmGlobal.0.A", "1")
            with pytest.raises(NvmError, match="cannot start a transaction"):
                second.set_system_param("DmGlobal.0.A", "2")
        second.close()
        assert first.system_param("DmGlobal.0.A") == "1"


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80)


@settings(max_examples=60, deadline=None)
@given(
    account=st.builds(Account, auth_name=_TEXT, auth_password=_TEXT, user_name=_TEXT, display_name=_TEXT,
                      provider_id=st.integers(1, 10), voicemail_mailbox=_TEXT, voicemail_active=st.booleans(),
                      feature_key_sync_active=st.booleans()),
    provider=st.builds(SipProvider, provider_id=st.integers(1, 10), name=_TEXT, domain=_TEXT,
                       proxy_server_port=st.integers(1, 65535), transport_protocol=st.sampled_from(TransportProtocol),
                       mwi_subscription=st.booleans()),
    ipei=st.integers(0, (1 << 36) - 1),
)
def test_round_trips(account, provider, ipei):
    with NvmStore() as store:
        ipui = Ipui.from_ipei(ipei)
        store.add_handset(ipui=ipui, reg_status=RegStatus.IN_REG)
        store.put_account(ipui, account)
        store.put_provider(provider)
        assert store.account(ipui) == account
        assert store.provider(provider.provider_id) == provider
        assert store.handset(ipui) == Handset(index=1, ipui=ipui, reg_status=RegStatus.IN_REG)
