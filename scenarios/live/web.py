"""The live twin's web server: the base's web interface (`firmware.web`) on a real HTTP port.

One responsibility: serve the Flask application in its own thread. The application holds a
`ThreadedBackend`, so every page hands its reads and changes to the twin's thread; the web server
itself is single-threaded (`threaded=False`), which keeps the login guard and the credentials' epoch
on one thread too (docs/web.md "Threads").
"""

from __future__ import annotations

import logging
import os
import threading

from werkzeug.serving import BaseWSGIServer, make_server

from firmware.web import create_app
from models.errors import ConfigError
from scenarios.live.backend import LiveBackend, ThreadedBackend
from scenarios.live.twin import LiveTwin
from scenarios.live.udp import format_address
from sip.events import Address


class WebServer:
    def __init__(self, twin: LiveTwin, bind: Address) -> None:
        self.backend = ThreadedBackend(twin, LiveBackend(twin))
        self.app = create_app(self.backend, secret_key=os.urandom(32))
        try:
            self.server: BaseWSGIServer = make_server(bind[0], bind[1], self.app, threaded=False)
        except OSError as err:
            raise ConfigError(f"web interface: cannot listen on {format_address(bind)}: "
                              f"{err.strerror or err}") from None
        # One line per request is werkzeug's default; the twin's output stays readable without it.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.address: Address = (bind[0], self.server.server_port)
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="fksim-web", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{format_address(self.address)}/"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self.server.shutdown()
            self._thread.join(timeout=5)
        self.server.server_close()
