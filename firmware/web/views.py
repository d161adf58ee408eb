"""The pages of the base's web interface and its JSON endpoints, modelled on the vendor's menu.

One responsibility: turn requests into `WebBackend` calls and the answers into pages. Paths follow
the vendor's menu (base-models.md §5):

- ``/status``: model, firmware, system type, counts, FKS summary;
- ``/telephony``: the "Internal telephony" switch (only models that have it: N610, N670);
- ``/settings/mobile-devices/administration``: the handset list, and ``.../<ipui or index>`` the
  edit page with "Feature key synchronization" Yes/No (disabled with the reason when gated);
- ``/settings/system/provisioning``: upload a provisioning file, check it or apply it;
- ``/handsets``: the virtual handsets (display and keys; recording a scenario);
- ``/api/status``, ``/api/handsets/<ipui>/screen``, ``/api/handsets/<ipui>/keys``: JSON.

Authentication, CSRF and error pages are `firmware.web.app`'s.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Flask,
    Response,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from werkzeug.utils import secure_filename

from dect.errors import IdentityError
from dect.identity import Ipui
from dect.menu import KEYS
from firmware.web.backend import (
    FEATURES,
    NotRunningError,
    ProvisioningResult,
    WebBackend,
    WebInputError,
)
from firmware.web.state import web_state
from firmware.web.store_backend import REG_ACTIONS

#: Handsets per page of the administration list [choice; an integrator has up to 20,000].
PAGE_SIZE = 100
#: Keypad layout of the virtual handset page (dect.menu.KEYS, arranged like a handset).
KEYPAD = (
    ("MENU", "UP", "BACK"),
    ("LEFT", "OK", "RIGHT"),
    ("TALK", "DOWN", "END"),
    ("1", "2", "3"),
    ("4", "5", "6"),
    ("7", "8", "9"),
    ("*", "0", "#"),
)
assert sorted(k for row in KEYPAD for k in row) == sorted(KEYS), "the keypad shows every key once"


def _backend() -> WebBackend:
    return web_state(current_app).backend


def _ipui(text: str) -> Ipui:
    try:
        return Ipui.parse(text)
    except IdentityError as err:
        raise WebInputError(str(err)) from None


def _form_fields(names: tuple[str, ...]) -> dict[str, str]:
    return {name: request.form[name] for name in names if name in request.form}


EDIT_FIELDS = (
    "ipui",
    "reg_action",
    "dect_ac",
    "provider_id",
    "auth_name",
    "auth_password",
    "user_name",
    "display_name",
    "voicemail_mailbox",
    "voicemail_active",
    "feature_key_sync",
)


def install_views(app: Flask) -> None:
    @app.context_processor
    def common() -> dict[str, Any]:
        backend = _backend()
        return {
            "profile": backend.profile,
            "has_internal_telephony": backend.internal_telephony() is not None,
            "features": FEATURES,
        }

    @app.get("/")
    def index() -> ResponseReturnValue:
        return redirect(url_for("status"))

    @app.get("/status")
    def status() -> ResponseReturnValue:
        data = _backend().status()
        message = "The password was changed." if request.args.get("changed") == "password" else None
        return render_template("status.html", status=data, message=message)

    @app.route("/telephony", methods=["GET", "POST"])
    def telephony() -> ResponseReturnValue:
        backend = _backend()
        current = backend.internal_telephony()
        message = None
        if request.method == "POST":
            if current is None:
                raise WebInputError(
                    f'{backend.profile.id} has no "Internal telephony" setting: only N610 and N670 have it'
                )
            value = request.form.get("internal_telephony")
            if value not in ("0", "1"):
                raise WebInputError('"Internal telephony" must be on (1) or off (0)')
            backend.set_internal_telephony(value == "1")
            current = backend.internal_telephony()
            message = f"Internal telephony is now {'on' if current else 'off'}."
        return render_template("telephony.html", internal_telephony=current, message=message)

    @app.get("/settings/mobile-devices/administration")
    def handsets() -> ResponseReturnValue:
        rows = _backend().handset_rows()
        pages = max(1, -(-len(rows) // PAGE_SIZE))
        try:
            page = min(max(1, int(request.args.get("page", "1"))), pages)
        except ValueError:
            page = 1
        shown = rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        return render_template("handsets.html", rows=shown, total=len(rows), page=page, pages=pages)

    @app.route("/settings/mobile-devices/administration/<ref>", methods=["GET", "POST"])
    def handset_edit(ref: str) -> ResponseReturnValue:
        backend = _backend()
        row = backend.handset_row(ref)
        errors: dict[str, str] = {}
        message = None
        status = 200
        values: dict[str, str] = {}
        if request.method == "POST":
            values = _form_fields(EDIT_FIELDS)
            try:
                updated = backend.update_handset(ref, values)
            except WebInputError as err:
                errors = err.fields or {"": str(err)}
                status = 400
            else:
                if updated is None:
                    return redirect(url_for("handsets", removed=ref))
                row = updated
                values = {}
                message = "Saved."
        return (
            render_template(
                "handset_edit.html",
                row=row,
                errors=errors,
                values=values,
                message=message,
                providers=backend.provider_choices(),
                reg_actions=REG_ACTIONS,
            ),
            status,
        )

    @app.route("/settings/system/provisioning", methods=["GET", "POST"])
    def provisioning() -> ResponseReturnValue:
        result: ProvisioningResult | None = None
        error = None
        status = 200
        if request.method == "POST":
            upload = request.files.get("file")
            action = request.form.get("action", "")
            data = upload.read() if upload is not None else b""
            if action not in ("check", "apply"):
                error, status = f'unknown action "{action}": check or apply', 400
            elif not data:
                error, status = "Choose a provisioning file (XML) to upload.", 400
            else:
                source = secure_filename(upload.filename or "") if upload is not None else ""
                source = source or "upload.xml"
                backend = _backend()
                if action == "apply":
                    result = backend.apply_provisioning(data, source)
                    if result.admin_password_changed:
                        _password_changed_elsewhere()
                else:
                    result = backend.check_provisioning(data, source)
        shown = request.form.get("action")
        return render_template("provisioning.html", result=result, error=error, action=shown), status

    @app.get("/handsets")
    def virtual_handsets() -> ResponseReturnValue:
        backend = _backend()
        screens: dict[str, dict[str, Any]] = {}
        not_running = None
        rows = [r for r in backend.handset_rows() if r.handset.ipui is not None]
        for row in rows:
            try:
                screens[row.ref] = backend.handset_screen(row.handset.ipui)  # type: ignore[arg-type]
            except NotRunningError as err:
                not_running = str(err)
                break
        return render_template(
            "virtual_handsets.html",
            rows=rows,
            screens=screens,
            keypad=KEYPAD,
            not_running=not_running,
            recording=backend.recording(),
        )

    @app.post("/handsets/<ipui>/keys")
    def press_key_form(ipui: str) -> ResponseReturnValue:
        _press(ipui, request.form.get("key", ""))
        return redirect(url_for("virtual_handsets") + f"#hs-{ipui}")

    @app.post("/handsets/recording/start")
    def recording_start() -> ResponseReturnValue:
        _backend().start_recording()
        return redirect(url_for("virtual_handsets"))

    @app.post("/handsets/recording/stop")
    def recording_stop() -> ResponseReturnValue:
        text = _backend().stop_recording()
        return Response(
            text,
            mimetype="application/yaml",
            headers={"Content-Disposition": 'attachment; filename="recorded-scenario.yaml"'},
        )

    # --- JSON ---------------------------------------------------------------------------------------

    @app.get("/api/status")
    def api_status() -> ResponseReturnValue:
        return jsonify(_backend().status())

    @app.get("/api/handsets/<ipui>/screen")
    def api_screen(ipui: str) -> ResponseReturnValue:
        return jsonify(_backend().handset_screen(_ipui(ipui)))

    @app.post("/api/handsets/<ipui>/keys")
    def api_press_key(ipui: str) -> ResponseReturnValue:
        body = request.get_json(silent=True)
        key = body.get("key") if isinstance(body, dict) else None
        if not isinstance(key, str):
            raise WebInputError('expected a JSON body {"key": "OK"}')
        return jsonify(_press(ipui, key))


def _press(ipui: str, key: str) -> dict[str, Any]:
    name = key.upper() if key.isalpha() else key
    if name not in KEYS:
        raise WebInputError(f'unknown key "{key}"; keys are {" ".join(KEYS)}')
    return _backend().press_key(_ipui(ipui), name)


def _password_changed_elsewhere() -> None:
    """A provisioning file set the admin password: other sessions end, this one carries on."""
    web_state(current_app).password_changed()
