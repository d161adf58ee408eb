"""The web interface's per-application state, apart from the application and its pages so that
both can use it without importing each other (`app` builds the application, `views` the pages).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from flask import Flask, session

from firmware.web.auth import LoginGuard, SessionTable
from firmware.web.backend import WebBackend


@dataclass(slots=True)
class WebState:
    """Per-application state: the backend, the login guard and the open sessions.

    Requests may run on several threads: `lock` guards `sessions`; `login_lock` makes one login
    attempt at a time (check the lock, verify, count), so parallel guesses cannot outrun the guard.
    """

    backend: WebBackend
    guard: LoginGuard = field(default_factory=LoginGuard)
    sessions: SessionTable = field(default_factory=SessionTable)
    lock: threading.Lock = field(default_factory=threading.Lock)
    login_lock: threading.Lock = field(default_factory=threading.Lock)

    def password_changed(self) -> None:
        """The admin password changed: every session but the current request's ends."""
        with self.lock:
            self.sessions.close_others(session.get("sid"))


def web_state(app: Flask) -> WebState:
    state = app.extensions["fksim_web"]
    assert isinstance(state, WebState)
    return state


__all__ = ["WebState", "web_state"]
