"""The base station's non-volatile memory (NVM): its persistent settings, in SQLite.

What a Gigaset base keeps across reboots (spec/base-models.md §3, §5): system parameters (among them
the internal-telephony setting), SIP providers, handsets (IPUI, index, registration status, DECT
registration PIN, DECT manager), each handset's SIP account (including FeatureKeySyncActive), the
DND and forwarding state the base keeps itself while a handset's FKS is inactive, trunk
assignments for internal telephony, and the web admin password (a salted hash and the "must change at
first login" flag; the default password is ``admin`` [likely]).

Every write runs inside a transaction (`NvmStore.transaction()`, nestable: the outermost one commits),
so a provisioning file applied in one transaction leaves either the old state or the new one, even if
the process is killed in the middle: SQLite's rollback journal guarantees it. The schema is versioned
with ``PRAGMA user_version``; a store written by a newer fksim is refused, not misread, and so is a
file that claims a schema version but lacks its tables or columns (the message names what is missing).

The API is typed: frozen dataclasses in and out, `Ipui` for handset identities. Handsets are keyed by
their index (1-based slot); the IPUI may be unknown until the handset registers, because provisioning
may open a slot by index alone (`add_hs value="00003"`).
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import hmac
import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from dect.identity import Ipui
from models.errors import FksimError
from sip.state import ALL_FEATURES, Feature, FeatureState

#: Feature names as the NVM stores them.
_FEATURE_NAMES = frozenset(f.value for f in ALL_FEATURES)

SCHEMA_VERSION = 2
#: What a store of an older schema version needs to become the current one (version -> statements).
_MIGRATIONS = {
    # 2: the user authentication key (UAK) a handset got by key allocation (EN 300 175-7 §6.4.5).
    1: ("CREATE TABLE dect_keys (idx INTEGER PRIMARY KEY REFERENCES handsets(idx) ON DELETE CASCADE, "
        "uak BLOB NOT NULL)",),
}
#: The internal-telephony parameter's real name is not published (base-models.md §2): fksim's choice.
INTERNAL_TELEPHONY_PARAM = "Telephony.0.InternalTelephony"
DEFAULT_ADMIN_PASSWORD = "admin"
#: PBKDF2-HMAC-SHA256 work factor; stored per row so it can be raised without breaking old stores.
PBKDF2_ITERATIONS = 100_000


class NvmError(FksimError):
    """The store cannot be opened, or a write breaks one of its rules (duplicate IPUI, unknown handset)."""


class RegStatus(enum.Enum):
    """A handset's DECT registration state as the web interface shows it (base-models.md §5)."""

    TO_REG = "ToReg"
    NOT_REG = "NotReg"
    IN_REG = "InReg"
    REGISTERED = "Registered"


class TransportProtocol(enum.IntEnum):
    """`SipProvider.<n>.TransportProtocol` values (base-models.md §3) [fact]."""

    UDP = 1
    TCP = 2
    TLS = 3


class TrunkDirection(enum.Enum):
    """Internal telephony: each handset has one send trunk and one or more receive trunks [fact]."""

    SEND = "send"
    RECEIVE = "receive"


@dataclass(frozen=True, slots=True, kw_only=True)
class Handset:
    index: int
    ipui: Ipui | None
    reg_status: RegStatus = RegStatus.TO_REG
    dect_ac: str | None = None
    dect_manager: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Account:
    """A handset's SIP account (`SipAccount.<id>.*`); FKS is off by default [fact]."""

    auth_name: str = ""
    auth_password: str = ""
    user_name: str = ""
    display_name: str = ""
    provider_id: int = 1
    voicemail_mailbox: str = ""
    voicemail_active: bool = False
    feature_key_sync_active: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class SipProvider:
    """`SipProvider.<n>.*`; defaults are this project's choice (SIP's well-known port, 1 h refresh)."""

    provider_id: int
    name: str = ""
    domain: str = ""
    proxy_server_address: str = ""
    proxy_server_port: int = 5060
    reg_server_address: str = ""
    reg_server_port: int = 5060
    reg_server_refresh_timer: int = 3600
    transport_protocol: TransportProtocol = TransportProtocol.UDP
    outbound_proxy_mode: int = 0
    outbound_proxy_address: str = ""
    outbound_proxy_port: int = 5060
    mwi_subscription: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class TrunkAssignment:
    index: int
    trunk: int
    direction: TrunkDirection


_SCHEMA = """
CREATE TABLE system_params (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE providers (
    provider_id INTEGER PRIMARY KEY, name TEXT NOT NULL, domain TEXT NOT NULL,
    proxy_server_address TEXT NOT NULL, proxy_server_port INTEGER NOT NULL,
    reg_server_address TEXT NOT NULL, reg_server_port INTEGER NOT NULL,
    reg_server_refresh_timer INTEGER NOT NULL, transport_protocol INTEGER NOT NULL,
    outbound_proxy_mode INTEGER NOT NULL, outbound_proxy_address TEXT NOT NULL,
    outbound_proxy_port INTEGER NOT NULL, mwi_subscription INTEGER NOT NULL);
CREATE TABLE handsets (
    idx INTEGER PRIMARY KEY CHECK (idx >= 1), ipui TEXT UNIQUE, reg_status TEXT NOT NULL,
    dect_ac TEXT, dect_manager INTEGER NOT NULL);
CREATE TABLE accounts (
    idx INTEGER PRIMARY KEY REFERENCES handsets(idx) ON DELETE CASCADE,
    auth_name TEXT NOT NULL, auth_password TEXT NOT NULL, user_name TEXT NOT NULL,
    display_name TEXT NOT NULL, provider_id INTEGER NOT NULL, voicemail_mailbox TEXT NOT NULL,
    voicemail_active INTEGER NOT NULL, feature_key_sync_active INTEGER NOT NULL);
CREATE TABLE trunk_assignments (
    idx INTEGER NOT NULL REFERENCES handsets(idx) ON DELETE CASCADE, trunk INTEGER NOT NULL,
    direction TEXT NOT NULL, PRIMARY KEY (idx, trunk, direction));
CREATE TABLE local_features (
    idx INTEGER PRIMARY KEY REFERENCES handsets(idx) ON DELETE CASCADE, state TEXT NOT NULL);
CREATE TABLE dect_keys (
    idx INTEGER PRIMARY KEY REFERENCES handsets(idx) ON DELETE CASCADE, uak BLOB NOT NULL);
CREATE TABLE web_admin (
    id INTEGER PRIMARY KEY CHECK (id = 1), salt BLOB NOT NULL, hash BLOB NOT NULL,
    iterations INTEGER NOT NULL, must_change INTEGER NOT NULL);
"""

_ACCOUNT_COLUMNS = tuple(f.name for f in fields(Account))
_PROVIDER_COLUMNS = tuple(f.name for f in fields(SipProvider))
_SELECT_ACCOUNT = f"SELECT {', '.join(_ACCOUNT_COLUMNS)} FROM accounts WHERE idx = ?"

HandsetRef = Ipui | int


def _hash_password(password: str, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)


class NvmStore:
    """A base's NVM in one SQLite database: a file path, or ``":memory:"`` for a throw-away base.

    `write_hook`, when given, is called after every write statement with the SQL text; tests use it
    to stop a process at a chosen point inside a transaction.
    """

    def __init__(
        self, path: str | Path = ":memory:", *, write_hook: Callable[[str], None] | None = None
    ) -> None:
        self.path = str(path)
        self._write_hook = write_hook
        self._depth = 0
        if self.path != ":memory:" and os.path.exists(self.path) and not os.path.isfile(self.path):
            # A device (/dev/zero), a FIFO or a directory: SQLite would fail later with "disk I/O error".
            raise NvmError(f"{self.path}: cannot open the NVM store: not a regular file")
        try:
            # isolation_level=None: this class issues BEGIN/COMMIT itself, so a transaction spans
            # exactly what `transaction()` encloses, never less.
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.execute("PRAGMA synchronous = FULL")
            version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        except sqlite3.Error as err:
            raise NvmError(f"{self.path}: cannot open the NVM store: {err}") from None
        if version == 0:
            self._create()
        elif version > SCHEMA_VERSION:
            self._db.close()
            raise NvmError(
                f"{self.path}: NVM schema version {version} is newer than this fksim "
                f"understands ({SCHEMA_VERSION})"
            )
        else:
            if version < SCHEMA_VERSION:
                self._migrate(version)
            problem = self._schema_problem()
            if problem:
                self._db.close()
                raise NvmError(f"{self.path}: not a usable NVM store (schema version {version}): {problem}")

    # --- life cycle -----------------------------------------------------------------------------

    def _create(self) -> None:
        try:
            with self.transaction():
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._set_admin(DEFAULT_ADMIN_PASSWORD, must_change=True)
                self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.Error as err:
            raise NvmError(f"{self.path}: cannot create the NVM store: {err}") from None

    def _migrate(self, version: int) -> None:
        """Bring a store of an older schema version up to date, in one transaction."""
        try:
            with self.transaction():
                for step in range(version, SCHEMA_VERSION):
                    for statement in _MIGRATIONS.get(step, ()):
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.Error as err:
            raise NvmError(f"{self.path}: cannot update the NVM from version {version}: {err}") from None

    def _schema_problem(self) -> str | None:
        """What the file's tables lack against this version's schema (a table, a column), or None.

        A file that says it has a schema version but lacks its tables (truncated, written by another
        tool) is refused with that sentence, not misread with a traceback at the first query."""
        expected = sqlite3.connect(":memory:")
        try:
            expected.executescript(_SCHEMA)
            want = _columns_of(expected)
        finally:
            expected.close()
        try:
            have = _columns_of(self._db)
        except sqlite3.Error as err:
            return f"cannot read its tables: {err}"
        for table, columns in want.items():
            if table not in have:
                return f"table {table} is missing"
            missing = [c for c in columns if c not in have[table]]
            if missing:
                return f"table {table} lacks column(s) {', '.join(missing)}"
        return None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> NvmStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[NvmStore]:
        """All writes inside commit together or not at all. Nested uses join the outer transaction."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as err:
            raise NvmError(f"{self.path}: cannot start a transaction: {err}") from None
        self._depth = 1
        try:
            yield self
            self._db.execute("COMMIT")
        except BaseException as err:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            if isinstance(err, sqlite3.Error):
                raise NvmError(f"{self.path}: transaction failed, nothing written: {err}") from None
            raise
        finally:
            self._depth = 0

    def _write(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        with self.transaction():
            try:
                cursor = self._db.execute(sql, params)
            except sqlite3.IntegrityError as err:
                raise NvmError(f"{self.path}: {err}") from None
            except sqlite3.Error as err:
                raise NvmError(f"{self.path}: cannot write the NVM store: {err}") from None
            if self._write_hook is not None:
                self._write_hook(sql)
            return cursor

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        return self._db.execute(sql, params).fetchall()

    # --- system parameters ------------------------------------------------------------------------

    def system_param(self, name: str) -> str | None:
        rows = self._read("SELECT value FROM system_params WHERE name = ?", (name,))
        return str(rows[0][0]) if rows else None

    def system_params(self) -> dict[str, str]:
        return {str(n): str(v) for n, v in self._read("SELECT name, value FROM system_params ORDER BY name")}

    def set_system_param(self, name: str, value: str) -> None:
        self._write("INSERT OR REPLACE INTO system_params (name, value) VALUES (?, ?)", (name, value))

    @property
    def internal_telephony(self) -> bool:
        """The "Internal telephony" setting (N610/N670); off unless set."""
        return self.system_param(INTERNAL_TELEPHONY_PARAM) == "1"

    def set_internal_telephony(self, enabled: bool) -> None:
        """Store the setting. Whether the model has it is the caller's check (firmware.gating)."""
        self.set_system_param(INTERNAL_TELEPHONY_PARAM, "1" if enabled else "0")

    # --- providers --------------------------------------------------------------------------------

    def provider(self, provider_id: int) -> SipProvider | None:
        columns = ", ".join(_PROVIDER_COLUMNS)
        rows = self._read(f"SELECT {columns} FROM providers WHERE provider_id = ?", (provider_id,))
        return self._provider_from_row(rows[0]) if rows else None

    def providers(self) -> list[SipProvider]:
        columns = ", ".join(_PROVIDER_COLUMNS)
        return [self._provider_from_row(r) for r in self._read(f"SELECT {columns} FROM providers ORDER BY 1")]

    def put_provider(self, provider: SipProvider) -> None:
        values = [getattr(provider, c) for c in _PROVIDER_COLUMNS]
        values = [int(v) if isinstance(v, bool | enum.IntEnum) else v for v in values]
        marks = ", ".join("?" * len(values))
        columns = ", ".join(_PROVIDER_COLUMNS)
        self._write(f"INSERT OR REPLACE INTO providers ({columns}) VALUES ({marks})", tuple(values))

    @staticmethod
    def _provider_from_row(row: Any) -> SipProvider:
        data = dict(zip(_PROVIDER_COLUMNS, row, strict=True))
        data["transport_protocol"] = TransportProtocol(data["transport_protocol"])
        data["mwi_subscription"] = bool(data["mwi_subscription"])
        return SipProvider(**data)

    # --- handsets ---------------------------------------------------------------------------------

    def handsets(self) -> list[Handset]:
        rows = self._read("SELECT idx, ipui, reg_status, dect_ac, dect_manager FROM handsets ORDER BY idx")
        return [self._handset_from_row(r) for r in rows]

    def handset(self, ref: HandsetRef) -> Handset | None:
        """The handset at index `ref` (an int) or with IPUI `ref`, or None."""
        select = "SELECT idx, ipui, reg_status, dect_ac, dect_manager FROM handsets"
        if isinstance(ref, Ipui):
            rows = self._read(f"{select} WHERE ipui = ?", (str(ref),))
        else:
            rows = self._read(f"{select} WHERE idx = ?", (int(ref),))
        return self._handset_from_row(rows[0]) if rows else None

    @staticmethod
    def _handset_from_row(row: Any) -> Handset:
        idx, ipui, status, dect_ac, dect_manager = row
        return Handset(
            index=int(idx),
            ipui=Ipui.parse(ipui) if ipui is not None else None,
            reg_status=RegStatus(status),
            dect_ac=dect_ac,
            dect_manager=int(dect_manager),
        )

    def _slot(self, ref: HandsetRef) -> int:
        """The index to look a handset's rows up by: an index as it is (whether that handset
        exists is checked only when nothing is found), an IPUI through the handsets table."""
        return ref if isinstance(ref, int) else self._index_of(ref)

    def _index_of(self, ref: HandsetRef) -> int:
        found = self.handset(ref)
        if found is None:
            raise NvmError(f"{self.path}: no handset {ref}")
        return found.index

    def free_index(self) -> int:
        """The lowest unused handset index (slots are 1-based), found by SQLite on the primary key
        (a 20,000-handset integrator adds its handsets one by one)."""
        # Two queries: SQLite answers MAX alone from the key index, not when another aggregate joins it.
        highest = self._read("SELECT MAX(idx) FROM handsets")[0][0]
        count = self._read("SELECT COUNT(*) FROM handsets")[0][0]
        if highest is None or highest == count:
            return int(highest or 0) + 1   # no gap: the usual case, answered from the key index
        rows = self._read(
            "SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM handsets WHERE idx = 1) "
            "UNION ALL SELECT MIN(h.idx) + 1 FROM handsets h "
            "WHERE NOT EXISTS (SELECT 1 FROM handsets n WHERE n.idx = h.idx + 1)")
        return int(rows[0][0])

    def add_handset(
        self,
        *,
        ipui: Ipui | None,
        index: int | None = None,
        reg_status: RegStatus = RegStatus.TO_REG,
        dect_ac: str | None = None,
        dect_manager: int = 1,
    ) -> Handset:
        """Open a handset slot (at `index`, or the lowest free one); duplicates are an NvmError."""
        with self.transaction():
            slot = self.free_index() if index is None else index
            if slot < 1:
                raise NvmError(f"{self.path}: handset index {slot} is not 1 or more")
            handset = Handset(
                index=slot, ipui=ipui, reg_status=reg_status, dect_ac=dect_ac, dect_manager=dect_manager
            )
            self._write(
                "INSERT INTO handsets (idx, ipui, reg_status, dect_ac, dect_manager) VALUES (?, ?, ?, ?, ?)",
                (slot, str(ipui) if ipui else None, reg_status.value, dect_ac, dect_manager),
            )
            return handset

    def set_reg_status(self, ref: HandsetRef, status: RegStatus) -> None:
        self._write("UPDATE handsets SET reg_status = ? WHERE idx = ?", (status.value, self._index_of(ref)))

    def set_dect_ac(self, ref: HandsetRef, pin: str | None) -> None:
        self._write("UPDATE handsets SET dect_ac = ? WHERE idx = ?", (pin, self._index_of(ref)))

    def set_dect_manager(self, ref: HandsetRef, dect_manager: int) -> None:
        self._write("UPDATE handsets SET dect_manager = ? WHERE idx = ?", (dect_manager, self._index_of(ref)))

    def bind_ipui(self, index: int, ipui: Ipui) -> None:
        """A handset registered into a slot opened by index: the slot now has its IPUI."""
        self._write("UPDATE handsets SET ipui = ? WHERE idx = ?", (str(ipui), self._index_of(index)))

    def uak(self, ref: HandsetRef) -> bytes | None:
        """The handset's user authentication key (UAK), when key allocation gave it one."""
        handset = self.handset(ref)
        rows = self._read("SELECT uak FROM dect_keys WHERE idx = ?", (handset.index,)) if handset else []
        return bytes(rows[0][0]) if rows else None

    def set_uak(self, ref: HandsetRef, uak: bytes) -> None:
        self._write("INSERT OR REPLACE INTO dect_keys (idx, uak) VALUES (?, ?)", (self._index_of(ref), uak))

    def remove_handset(self, ref: HandsetRef) -> None:
        """Delete the handset with its account and trunk assignments (ToDeReg, base-models.md §3)."""
        self._write("DELETE FROM handsets WHERE idx = ?", (self._index_of(ref),))

    # --- accounts ---------------------------------------------------------------------------------

    def account(self, ref: HandsetRef) -> Account | None:
        rows = self._read(_SELECT_ACCOUNT, (self._slot(ref),))
        if not rows:
            self._index_of(ref)   # no such handset is an error, not "no account"
            return None
        data = dict(zip(_ACCOUNT_COLUMNS, rows[0], strict=True))
        data["voicemail_active"] = bool(data["voicemail_active"])
        data["feature_key_sync_active"] = bool(data["feature_key_sync_active"])
        return Account(**data)

    def put_account(self, ref: HandsetRef, account: Account) -> None:
        values = [getattr(account, c) for c in _ACCOUNT_COLUMNS]
        values = [int(v) if isinstance(v, bool) else v for v in values]
        marks = ", ".join("?" * (len(values) + 1))
        self._write(
            f"INSERT OR REPLACE INTO accounts (idx, {', '.join(_ACCOUNT_COLUMNS)}) VALUES ({marks})",
            (self._index_of(ref), *values),
        )

    def delete_account(self, ref: HandsetRef) -> None:
        self._write("DELETE FROM accounts WHERE idx = ?", (self._index_of(ref),))

    # --- features kept by the base itself (FKS inactive) -------------------------------------------

    def local_features(self, ref: HandsetRef) -> FeatureState | None:
        """DND and forwarding the base keeps for a handset whose FKS is not active (None: never set)."""
        rows = self._read("SELECT state FROM local_features WHERE idx = ?", (self._slot(ref),))
        if not rows:
            self._index_of(ref)
            return None
        return FeatureState.from_json(json.loads(rows[0][0]))

    def set_local_features(self, ref: HandsetRef, state: FeatureState) -> None:
        unconfirmed = self.unconfirmed_features(ref)
        self._write_features(ref, state, unconfirmed)

    def unconfirmed_features(self, ref: HandsetRef) -> frozenset[Feature]:
        """The features indicated to the handset that it has not been heard from since: a base that
        reboots sends them again at the next locate (an indication in flight at power-off is lost)."""
        rows = self._read("SELECT state FROM local_features WHERE idx = ?", (self._slot(ref),))
        if not rows:
            return frozenset()
        names = json.loads(rows[0][0]).get("unconfirmed", [])
        return frozenset(Feature(name) for name in names if name in _FEATURE_NAMES)

    def set_unconfirmed_features(self, ref: HandsetRef, features: frozenset[Feature]) -> None:
        state = self.local_features(ref) or FeatureState()
        self._write_features(ref, state, features)

    def _write_features(self, ref: HandsetRef, state: FeatureState, unconfirmed: frozenset[Feature]) -> None:
        data = state.as_json()
        if unconfirmed:
            data["unconfirmed"] = sorted(f.value for f in unconfirmed)
        self._write("INSERT OR REPLACE INTO local_features (idx, state) VALUES (?, ?)",
                    (self._index_of(ref), json.dumps(data, sort_keys=True)))

    # --- trunks (internal telephony) --------------------------------------------------------------

    def trunk_assignments(self) -> list[TrunkAssignment]:
        rows = self._read(
            "SELECT idx, trunk, direction FROM trunk_assignments ORDER BY idx, direction, trunk"
        )
        return [TrunkAssignment(index=int(i), trunk=int(t), direction=TrunkDirection(d)) for i, t, d in rows]

    def assign_trunk(self, ref: HandsetRef, trunk: int, direction: TrunkDirection) -> None:
        index = self._index_of(ref)
        with self.transaction():
            if direction is TrunkDirection.SEND:
                # One send account per handset [fact]: a new send trunk replaces the old one.
                self._write("DELETE FROM trunk_assignments WHERE idx = ? AND direction = ?", (index, "send"))
            self._write(
                "INSERT OR REPLACE INTO trunk_assignments (idx, trunk, direction) VALUES (?, ?, ?)",
                (index, trunk, direction.value),
            )

    def unassign_trunk(self, ref: HandsetRef, trunk: int, direction: TrunkDirection) -> None:
        self._write(
            "DELETE FROM trunk_assignments WHERE idx = ? AND trunk = ? AND direction = ?",
            (self._index_of(ref), trunk, direction.value),
        )

    # --- web admin --------------------------------------------------------------------------------

    def _set_admin(self, password: str, *, must_change: bool) -> None:
        salt = os.urandom(16)
        self._write(
            "INSERT OR REPLACE INTO web_admin (id, salt, hash, iterations, must_change) "
            "VALUES (1, ?, ?, ?, ?)",
            (salt, _hash_password(password, salt, PBKDF2_ITERATIONS), PBKDF2_ITERATIONS, int(must_change)),
        )

    def set_admin_password(self, password: str, *, must_change: bool = False) -> None:
        """Store a new admin password as a salted PBKDF2 hash; the clear text is never kept."""
        if not password:
            raise NvmError(f"{self.path}: the admin password must not be empty")
        self._set_admin(password, must_change=must_change)

    def verify_admin_password(self, password: str) -> bool:
        salt, stored, iterations = self._read("SELECT salt, hash, iterations FROM web_admin WHERE id = 1")[0]
        return hmac.compare_digest(_hash_password(password, bytes(salt), int(iterations)), bytes(stored))

    @property
    def admin_must_change_password(self) -> bool:
        """True while the default password is in place: the web interface forces a change [likely]."""
        return bool(self._read("SELECT must_change FROM web_admin WHERE id = 1")[0][0])

    # --- whole-store view -------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Everything stored, as plain data (the admin password as its hash): for tests and status pages."""
        return {
            "system": self.system_params(),
            "providers": [_plain(p) for p in self.providers()],
            "handsets": [
                {**_plain(h), "account": _plain(a) if (a := self.account(h.index)) else None,
                 "local_features": f.as_json() if (f := self.local_features(h.index)) else None}
                for h in self.handsets()
            ],
            "trunks": [_plain(t) for t in self.trunk_assignments()],
            "admin": [bytes(v).hex() for v in self._read("SELECT salt, hash FROM web_admin WHERE id = 1")[0]],
            "admin_must_change": self.admin_must_change_password,
        }


def _columns_of(db: sqlite3.Connection) -> dict[str, list[str]]:
    tables = [str(r[0]) for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    quoted = {t: '"' + t.replace('"', '""') + '"' for t in tables}
    return {t: [str(c[1]) for c in db.execute(f"PRAGMA table_info({quoted[t]})")] for t in tables}


def _plain(item: Any) -> dict[str, Any]:
    """A flat dict of a record's fields, enums as their values and IPUIs as their text."""
    out: dict[str, Any] = {}
    for key, value in ((f.name, getattr(item, f.name)) for f in fields(item)):
        if isinstance(value, enum.Enum):
            value = value.value
        elif isinstance(value, Ipui):
            value = str(value)
        out[key] = value
    return out
