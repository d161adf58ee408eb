"""The live twin's web server: the base's web interface (`firmware.web`) on a real HTTP port.

One responsibility: serve the Flask application in its own threads. Each connection is served on a
thread of its own (werkzeug's threaded server) and has `CONNECTION_TIMEOUT` seconds for each read
and write, so an idle or slow client (a connection that sends nothing, or a request trickled in a
byte at a time) holds one thread for a while and never blocks the others (docs/web.md "Threads").

Concurrency stops at the backend: the application holds a `ThreadedBackend`, which hands every read
and change to the twin's thread (`LiveTwin.call`), so only that thread ever touches the cores and the
NVM store. The web layer's own state (login guard, open sessions) is guarded by locks in
`firmware.web.state.WebState`.
"""

from __future__ import annotations

import logging
import os
import threading

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from firmware.web import create_app
from models.errors import ConfigError
from scenarios.live.backend import LiveBackend, ThreadedBackend
from scenarios.live.twin import LiveTwin
from scenarios.live.udp import format_address
from sip.events import Address

#: Seconds a connection may take for each read or write before it is closed [choice]: a browser
#: sends a request at once; a client silent this long is gone or hostile.
CONNECTION_TIMEOUT = 10.0


class _RequestHandler(WSGIRequestHandler):
    """werkzeug's handler with a socket timeout (socketserver applies `timeout` to the connection)."""

    timeout = CONNECTION_TIMEOUT


class WebServer:
    def __init__(self, twin: LiveTwin, bind: Address, *, connection_timeout: float = CONNECTION_TIMEOUT
                 ) -> None:
        self.backend = ThreadedBackend(twin, LiveBackend(twin))
        self.app = create_app(self.backend, secret_key=os.urandom(32))
        handler = type("RequestHandler", (_RequestHandler,), {"timeout": connection_timeout})
        try:
            self.server: BaseWSGIServer = make_server(bind[0], bind[1], self.app, threaded=True,
                                                      request_handler=handler)
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
