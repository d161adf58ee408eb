"""Admin login for the base's web interface: lockout, password rules and the session's life.

One responsibility: decide whether a request comes from a logged-in admin, and whether a login attempt
may even be tried. The numbers are this project's choices (docs/web.md): after `MAX_FAILURES` wrong
passwords in a row the login is locked for `LOCK_SECONDS`, for everyone (the base has one admin
account, and it is the account that is attacked, not an address); a session idle for `IDLE_SECONDS`
ends. Time comes from the backend's clock (`WebBackend.now`), so tests move it instead of sleeping.

Sessions live on the server (`SessionTable`): a login draws a random session id, which the signed
session cookie (Flask's, HttpOnly, SameSite=Strict) carries. A request counts as logged in only while
its id is in the table, so logout, idling out and a change of the admin password (on the web or by
provisioning, which ends every other session) end a session for good: a copy of the cookie replayed
later is refused [choice: a signed cookie alone stays valid until its idle stamp runs out].

The web server may serve requests on several threads (`scenarios.live.web`): the table and the
guard are guarded by one lock each (`WebState` in `firmware.web.app`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

#: Wrong passwords in a row before the login locks [choice].
MAX_FAILURES = 5
#: How long the login stays locked [choice].
LOCK_SECONDS = 60.0
#: A session unused for this long must log in again [choice].
IDLE_SECONDS = 15 * 60.0
#: New admin passwords: at least this long [choice]; at most 74 like `WebUIAccounts.1.Password`.
MIN_PASSWORD = 8
MAX_PASSWORD = 74
FACTORY_PASSWORD = "admin"
#: Open sessions kept at most; a login beyond that ends the longest-idle one [choice].
MAX_SESSIONS = 64


@dataclass(slots=True)
class SessionTable:
    """The open admin sessions: session id -> when it was last used (the backend's clock)."""

    idle_seconds: float = IDLE_SECONDS
    max_sessions: int = MAX_SESSIONS
    seen: dict[str, float] = field(default_factory=dict)

    def open(self, now: float) -> str:
        """A new session; its id goes into the cookie."""
        for sid in [s for s, t in self.seen.items() if not 0 <= now - t <= self.idle_seconds]:
            del self.seen[sid]
        while len(self.seen) >= self.max_sessions:
            del self.seen[min(self.seen, key=self.seen.__getitem__)]
        sid = secrets.token_urlsafe(32)
        self.seen[sid] = now
        return sid

    def use(self, sid: object, now: float) -> bool:
        """Whether `sid` is an open session (and mark it used); an idle one ends here."""
        if not isinstance(sid, str) or sid not in self.seen:
            return False
        if not 0 <= now - self.seen[sid] <= self.idle_seconds:
            del self.seen[sid]
            return False
        self.seen[sid] = now
        return True

    def close(self, sid: object) -> None:
        if isinstance(sid, str):
            self.seen.pop(sid, None)

    def close_others(self, keep: object) -> None:
        """The admin password changed: every session but `keep` ends."""
        kept = {keep: self.seen[keep]} if isinstance(keep, str) and keep in self.seen else {}
        self.seen = kept


@dataclass(slots=True)
class LoginGuard:
    """Counts wrong passwords and locks the login; one per web application (the base has one admin)."""

    max_failures: int = MAX_FAILURES
    lock_seconds: float = LOCK_SECONDS
    failures: int = 0
    locked_until: float | None = None

    def remaining(self, now: float) -> float:
        """Seconds the login stays locked (0 when it is open). An expired lock starts a fresh count."""
        if self.locked_until is None:
            return 0.0
        if now >= self.locked_until:
            self.locked_until = None
            self.failures = 0
            return 0.0
        return self.locked_until - now

    def failed(self, now: float) -> None:
        self.failures += 1
        if self.failures >= self.max_failures:
            self.locked_until = now + self.lock_seconds

    def succeeded(self) -> None:
        self.failures = 0
        self.locked_until = None


def password_problem(new: str, confirm: str, *, current: str) -> str | None:
    """Why `new` cannot be the admin password, or None."""
    if new != confirm:
        return "the new password and its confirmation differ"
    if new == FACTORY_PASSWORD:
        return "the factory password cannot be kept"
    if new == current:
        return "the new password must differ from the current one"
    if len(new) < MIN_PASSWORD:
        return f"the new password must have at least {MIN_PASSWORD} characters"
    if len(new) > MAX_PASSWORD:
        return f"the new password must have at most {MAX_PASSWORD} characters"
    return None
