"""Fixtures for the web interface tests: a base (NVM + profile) behind a StoreBackend, a clock the
tests move, and a browser-like client that reads the CSRF token from each form, as a browser would.

CSRF protection stays on in every test: a form POST carries the token it was served with.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest


def _import_the_real_firmware_web() -> None:
    """Make ``firmware.web`` the package, not this test folder.

    pyproject puts ``tests/`` on sys.path and, under ``.venv/bin/pytest``, not the repository root, so
    ``firmware`` is found as a namespace package over ``tests/firmware`` (its submodules still load
    through the editable install's finder). ``firmware.web`` is then found as *this* folder, which
    shadows the package. Load the package from its file instead; under ``python -m pytest`` (repository
    root on sys.path) the plain import already finds it and nothing is done.
    """
    try:
        module = importlib.import_module("firmware.web")
    except ImportError:
        module = None
    if module is not None and getattr(module, "__file__", None):
        return
    init = Path(__file__).resolve().parents[3] / "firmware" / "web" / "__init__.py"
    spec = importlib.util.spec_from_file_location(
        "firmware.web", init, submodule_search_locations=[str(init.parent)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["firmware.web"] = module
    spec.loader.exec_module(module)
    sys.modules["firmware"].web = module  # type: ignore[attr-defined]


_import_the_real_firmware_web()
from flask import Flask  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from werkzeug.test import TestResponse  # noqa: E402

from dect.identity import Ipui  # noqa: E402
from firmware.nvm import Account, NvmStore, RegStatus  # noqa: E402
from firmware.web import Change, StoreBackend, create_app  # noqa: E402
from models.profiles import get_profile  # noqa: E402

IPUI_A = Ipui.parse("029e74a599")
IPUI_B = Ipui.parse("029e74a5aa")
PASSWORD = "correct-horse"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


@dataclass
class Clock:
    """A monotonic clock the test moves by hand."""

    t: float = 1000.0

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def token_of(response: TestResponse) -> str:
    """The CSRF token of the first form (or the page's meta tag) in `response`."""
    text = response.get_data(as_text=True)
    found = _TOKEN.search(text) or _META.search(text)
    assert found, f"no CSRF token in the page:\n{text[:500]}"
    return found.group(1)


@dataclass
class Browser:
    """A test client with a browser's habits: GET the page, then POST its form with the token."""

    client: FlaskClient
    token: str = ""

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        response = self.client.get(path, **kwargs)
        if response.status_code == 200 and "text/html" in response.content_type:
            text = response.get_data(as_text=True)
            if _TOKEN.search(text) or _META.search(text):
                self.token = token_of(response)
        return response

    def submit(
        self, path: str, data: dict[str, Any], *, page: str | None = None, **kwargs: Any
    ) -> TestResponse:
        """GET `page` (default `path`), then POST `data` to `path` with that page's CSRF token."""
        self.get(page or path)
        return self.client.post(path, data={**data, "csrf_token": self.token}, **kwargs)

    def login(self, password: str = PASSWORD) -> TestResponse:
        return self.submit("/login", {"password": password})


@dataclass
class Base:
    """One base under test: its store, profile, backend, app, the changes it reported and its clock."""

    store: NvmStore
    backend: StoreBackend
    app: Flask
    clock: Clock
    changes: list[Change] = field(default_factory=list)

    def browser(self) -> Browser:
        return Browser(self.app.test_client())

    def admin(self) -> Browser:
        """A browser logged in as admin (the factory password already changed)."""
        browser = self.browser()
        response = browser.login()
        assert response.status_code == 302, response.get_data(as_text=True)
        return browser

    def add_handset(self, ipui: Ipui | None = IPUI_A, *, fks: bool = False, user: str = "2001") -> int:
        handset = self.store.add_handset(ipui=ipui, reg_status=RegStatus.REGISTERED)
        self.store.put_account(
            handset.index,
            Account(
                auth_name=user,
                auth_password="s3cret",
                user_name=user,
                display_name=f"User {user}",
                feature_key_sync_active=fks,
            ),
        )
        return handset.index


MakeBase = Callable[..., Base]


@pytest.fixture
def make_base() -> Iterator[MakeBase]:
    stores: list[NvmStore] = []

    def make(
        model: str = "N870",
        *,
        factory_password: bool = False,
        runtime: Any = None,
        backend_class: type[StoreBackend] = StoreBackend,
    ) -> Base:
        store = NvmStore()
        stores.append(store)
        if not factory_password:
            store.set_admin_password(PASSWORD)
        clock = Clock()
        changes: list[Change] = []
        kwargs: dict[str, Any] = {"on_change": changes.append, "clock": clock}
        if runtime is not None:
            kwargs["runtime"] = runtime
        backend = backend_class(store, get_profile(model), **kwargs)
        app = create_app(backend, secret_key=b"0123456789abcdef-test-key", testing=True)
        return Base(store=store, backend=backend, app=app, clock=clock, changes=changes)

    yield make
    for store in stores:
        store.close()


@pytest.fixture
def base(make_base: MakeBase) -> Base:
    return make_base("N870")


class Kit:
    """Constants and helpers for the tests (test modules cannot import this conftest by name)."""

    ipui_a = IPUI_A
    ipui_b = IPUI_B
    password = PASSWORD
    token_of = staticmethod(token_of)
    Clock = Clock


@pytest.fixture
def kit() -> Kit:
    return Kit()
