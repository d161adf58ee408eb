"""Admin login for the base's web interface: lockout, password rules and the session's life.

One responsibility: decide whether a request comes from a logged-in admin, and whether a login attempt
may even be tried. The numbers are this project's choices (docs/web.md): after `MAX_FAILURES` wrong
passwords in a row the login is locked for `LOCK_SECONDS`, for everyone (the base has one admin
account, and it is the account that is attacked, not an address); a session idle for `IDLE_SECONDS`
ends. Time comes from the backend's clock (`WebBackend.now`), so tests move it instead of sleeping.

Sessions are Flask's signed cookies (HttpOnly, SameSite=Strict). A session carries the *epoch* of the
admin credentials it was opened with; changing the password (on the web or by provisioning) starts a
new epoch, which ends every other session.
"""

from __future__ import annotations

from dataclasses import dataclass

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
