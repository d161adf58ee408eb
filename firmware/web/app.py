"""The base's web interface: the Flask application factory, its security and its error pages.

One responsibility: build the application and guard it. The pages themselves are `firmware.web.views`;
everything they read or change goes through the `WebBackend` given to `create_app`.

Security model (docs/web.md):

- every page but the login page and the static files needs a logged-in admin: a page redirects to
  the login, `/api/...` answers 401 JSON;
- the factory password ``admin`` must be changed before anything else is shown [likely];
- sessions live on the server (`auth.SessionTable`); the signed cookie (HttpOnly, SameSite=Strict)
  carries only the session's random id. Logout, idling (`auth.IDLE_SECONDS`) and any change of the
  admin password end a session on the server, so a replayed copy of an old cookie is refused;
- every POST carries a CSRF token (Flask-WTF `CSRFProtect`: the forms' hidden ``csrf_token`` field, or
  the ``X-CSRFToken`` header for the virtual handset's JSON calls); it is never switched off, not even
  for tests;
- repeated wrong passwords lock the login (`auth.LoginGuard`);
- responses forbid framing, inline scripts and caching of pages; bad input gives a page with a
  sentence, never a traceback.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Flask,
    Response,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from firmware.provisioning_xml import MAX_FILE_BYTES
from firmware.web.auth import password_problem
from firmware.web.backend import NotRunningError, WebBackend
from firmware.web.state import WebState, web_state
from firmware.web.views import install_views
from models.errors import FksimError

_HERE = Path(__file__).parent
#: Largest accepted upload: the provisioning file limit [choice] (a 20,000-handset file is about 15 MB).
MAX_UPLOAD_BYTES = MAX_FILE_BYTES
#: Endpoints that need no login.
PUBLIC_ENDPOINTS = frozenset({"login", "static"})
#: Endpoints open to a logged-in admin who still has to change the factory password.
PASSWORD_CHANGE_ENDPOINTS = frozenset({"password", "logout"})

log = logging.getLogger(__name__)


def create_app(backend: WebBackend, *, secret_key: bytes, testing: bool = False) -> Flask:
    """The web interface of the base behind `backend`. `secret_key` signs the session cookies and the
    CSRF tokens: at least 16 random bytes (e.g. ``os.urandom(32)``; a new one logs everybody out)."""
    if not isinstance(secret_key, bytes) or len(secret_key) < 16:
        raise ValueError("secret_key must be at least 16 random bytes")
    app = Flask(
        __name__,
        template_folder=str(_HERE / "templates"),
        static_folder=str(_HERE / "static"),
    )
    app.config.update(
        SECRET_KEY=secret_key,
        TESTING=testing,
        SESSION_COOKIE_NAME="fksim_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        MAX_CONTENT_LENGTH=MAX_UPLOAD_BYTES,
        # CSRF stays on in every mode (tests fetch the token from the form like a browser does).
        WTF_CSRF_ENABLED=True,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session, which idles out itself
        TEMPLATES_AUTO_RELOAD=testing,
    )
    app.extensions["fksim_web"] = WebState(backend=backend)
    # The login check runs first: an anonymous request is a 401 / login redirect, whatever it carries.
    _install_guards(app)
    CSRFProtect(app)
    _install_error_handlers(app)
    _install_login(app)

    install_views(app)
    return app


# --- guards -------------------------------------------------------------------------------------------


def is_api() -> bool:
    return request.path.startswith("/api/")


def _install_guards(app: Flask) -> None:
    @app.before_request
    def require_login() -> ResponseReturnValue | None:
        if request.endpoint in PUBLIC_ENDPOINTS:
            return None
        state = web_state(app)
        now = state.backend.now()
        expired = False
        sid = session.get("sid")
        if sid is not None:
            with state.lock:
                valid = state.sessions.use(sid, now)
            if not valid:
                # Logged out, idled out, or the password changed since: this cookie is no login.
                session.clear()
                expired = True
        if session.get("sid") is None:
            if is_api():
                return _json_error(401, "authentication required: log in at /login")
            args: dict[str, Any] = {"next": request.full_path.rstrip("?")} if request.method == "GET" else {}
            if expired:
                args["expired"] = "1"
            return redirect(url_for("login", **args))
        if request.endpoint not in PASSWORD_CHANGE_ENDPOINTS and state.backend.admin_must_change_password():
            if is_api():
                return _json_error(403, "the factory admin password must be changed first")
            return redirect(url_for("password"))
        return None

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        )
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if request.endpoint != "static":
            response.headers.setdefault("Cache-Control", "no-store")
        return response


# --- errors -------------------------------------------------------------------------------------------


def _json_error(status: int, message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response


def error_page(status: int, title: str, message: str) -> ResponseReturnValue:
    if is_api():
        return _json_error(status, message)
    return render_template("error.html", status=status, title=title, message=message), status


def _install_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(err: CSRFError) -> ResponseReturnValue:
        return error_page(
            400,
            "Security token missing or invalid",
            f"The request was refused: {err.description} Reload the page and try again.",
        )

    @app.errorhandler(NotRunningError)
    def not_running(err: NotRunningError) -> ResponseReturnValue:
        return error_page(503, "Base not running", str(err))

    @app.errorhandler(FksimError)
    def refused(err: FksimError) -> ResponseReturnValue:
        return error_page(400, "Not done", str(err))

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException) -> ResponseReturnValue:
        status = err.code or 500
        if status == 413:
            message = f"The upload is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB."
        else:
            message = err.description or err.name
        return error_page(status, err.name, message)

    @app.errorhandler(Exception)
    def internal_error(err: Exception) -> ResponseReturnValue:
        # Never a traceback to the browser: log it for the operator, show a sentence.
        log.exception("web interface: unexpected error on %s %s", request.method, request.path)
        return error_page(500, "Internal error", f"The base could not do this ({type(err).__name__}).")


# --- login, logout, password change -------------------------------------------------------------------


def _safe_next(target: str | None) -> str:
    """Only a local path: a login link must not send the admin to another site."""
    if not target:
        return url_for("status")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("status")
    return target


def _try_login(state: WebState, now: float) -> tuple[str, int] | None:
    """One login attempt under `state.login_lock`: None when it opened a session, else (message, status)."""
    locked = state.guard.remaining(now)
    if locked:
        return f"Too many wrong passwords: the login is locked for {int(locked + 0.999)} s.", 429
    if state.backend.verify_admin_password(request.form.get("password", "")):
        state.guard.succeeded()
        old = session.get("sid")
        session.clear()  # a new session at login: no fixation
        with state.lock:
            state.sessions.close(old)
            session["sid"] = state.sessions.open(now)
        return None
    state.guard.failed(now)
    locked = state.guard.remaining(now)
    if locked:
        return f"Too many wrong passwords: the login is locked for {int(locked + 0.999)} s.", 429
    return "Wrong password.", 401


def _install_login(app: Flask) -> None:
    @app.route("/login", methods=["GET", "POST"])
    def login() -> ResponseReturnValue:
        state = web_state(app)
        backend = state.backend
        now = backend.now()
        error = None
        status = 200
        if request.args.get("expired"):
            error = "Your session has ended. Please log in again."
        if request.method == "POST":
            with state.login_lock:
                verdict = _try_login(state, now)
            if verdict is None:
                if backend.admin_must_change_password():
                    return redirect(url_for("password"))
                return redirect(_safe_next(request.args.get("next")))
            error, status = verdict
        return render_template("login.html", error=error, next=request.args.get("next", "")), status

    @app.route("/logout", methods=["POST"])
    def logout() -> ResponseReturnValue:
        state = web_state(app)
        with state.lock:
            state.sessions.close(session.get("sid"))
        session.clear()
        return redirect(url_for("login"))

    @app.route("/password", methods=["GET", "POST"])
    def password() -> ResponseReturnValue:
        state = web_state(app)
        backend = state.backend
        forced = backend.admin_must_change_password()
        error = None
        status = 200
        if request.method == "POST":
            current = request.form.get("current", "")
            new = request.form.get("new", "")
            if not backend.verify_admin_password(current):
                error, status = "The current password is wrong.", 400
            elif problem := password_problem(new, request.form.get("confirm", ""), current=current):
                error, status = f"Not changed: {problem}.", 400
            else:
                backend.set_admin_password(new)
                # Every other session ends; this one carries on.
                state.password_changed()
                return redirect(url_for("status", changed="password"))
        return render_template("password.html", forced=forced, error=error), status
