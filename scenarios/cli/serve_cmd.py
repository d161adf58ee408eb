"""`fksim serve`: a live base in real time (contract: scenarios-and-cli.md §1; docs/live.md).

The same firmware as the simulation, on simpy's real-time clock, with SIP over real UDP, TCP or TLS
(as provisioned: `SipProvider.1.TransportProtocol`; `--tls-ca` names the trust anchors) to a server
(the embedded application server on loopback by default), the base's web interface on HTTP and its
JSON status at `/api/status`. Runs until interrupted (Ctrl-C, SIGTERM) or `--run-for` has passed;
then unsubscribes and un-REGISTERs every account, waits briefly for the answers, and exits 0.
Bad input (unknown model, unreadable or malformed provisioning file, an address in use) is one
``fksim: ...`` line and exit 2; a provisioning file with errors is its diagnostics and exit 2, nothing
applied, unless `--keep-going`. Events are logged to standard error (`scenarios.live.eventlog`:
`--log-level`, `--log-format text|json`).
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from types import FrameType

import click

from firmware.provisioning import ProvisioningError, ProvisioningSyntaxError
from firmware.provisioning_xml import read_provisioning_file
from models.errors import FksimError
from models.profiles import get_profile
from scenarios.live.eventlog import FORMATS, LEVELS, setup_logging
from scenarios.live.twin import LiveConfig, LiveTwin
from scenarios.live.udp import format_address, parse_address
from scenarios.live.web import WebServer
from scenarios.world.collector import collector_for_long_runs

EXIT_BAD_INPUT = 2


@click.command("serve")
@click.option("--model", "model_id", required=True, help="Model id, e.g. N670 or N870.")
@click.option("--provision", "provision_file", type=click.Path(dir_okay=False, path_type=str),
              help="Provisioning file (XML) applied to the NVM at start.")
@click.option("--http", "http", default="127.0.0.1:8080", show_default=True,
              help="HOST:PORT of the web interface (port 0: any free port).")
@click.option("--sip-bind", "sip_bind", default="127.0.0.1:5060", show_default=True,
              help="HOST:PORT of the first DECT manager's SIP socket (the others take free ports).")
@click.option("--server", "server", default="embedded", show_default=True,
              help='HOST:PORT of the SIP server, or "embedded" for the built-in application server.')
@click.option("--embedded-bind", "embedded_bind", default="127.0.0.1:5070", show_default=True,
              help="HOST:PORT of the embedded application server.")
@click.option("--state", "state", type=click.Path(dir_okay=False, path_type=str),
              help="NVM file of the base (SQLite); default fksim-<model>.sqlite in the working directory.")
@click.option("--dect-managers", "dect_managers", type=click.IntRange(1, 100), default=1, show_default=True,
              help="DECT managers of the system (multicell models).")
@click.option("--domain", default="as.example.com", show_default=True,
              help="SIP domain when the NVM has no SipProvider.1.Domain.")
@click.option("--shutdown-wait", "shutdown_wait", type=click.FloatRange(0, 60), default=3.0,
              show_default=True, help="Seconds to wait for the answers to the unsubscribes at shutdown.")
@click.option("--tls-ca", "tls_ca", type=click.Path(dir_okay=False, path_type=str),
              help="PEM file of the CAs a TLS server's certificate must chain to (default: the system's).")
@click.option("--run-for", "run_for", type=click.FloatRange(0, min_open=True),
              help="Stop by itself after this many seconds (as if interrupted).")
@click.option("--log-level", "log_level", type=click.Choice(LEVELS), default="info", show_default=True,
              help="Least important event logged (debug: also every request sent and DECT request).")
@click.option("--log-format", "log_format", type=click.Choice(FORMATS), default="text", show_default=True,
              help="text: one line per event; json: one JSON object per line (time, level, event, fields).")
@click.option("--keep-going", "keep_going", is_flag=True,
              help="Start even when the provisioning file has errors (the items in error are skipped).")
@click.pass_context
def serve(ctx: click.Context, model_id: str, provision_file: str | None, http: str, sip_bind: str,
          server: str, embedded_bind: str, state: str | None, dect_managers: int, domain: str,
          shutdown_wait: float, tls_ca: str | None, run_for: float | None, log_level: str, log_format: str,
          keep_going: bool) -> None:
    """Run a live base: web interface, SIP over UDP, TCP or TLS, JSON status at /api/status. Events go
    to standard error as a base's syslog would show them; the ready line goes to standard output."""
    setup_logging(log_level, log_format)
    try:
        twin, web = _build(model_id, provision_file, http, sip_bind, server, embedded_bind, state,
                           dect_managers, domain, shutdown_wait, tls_ca, keep_going)
    except ProvisioningSyntaxError as err:
        click.echo(f"fksim: {err.diagnostic}", err=True)
        ctx.exit(EXIT_BAD_INPUT)
    except ProvisioningError as err:
        for diagnostic in err.diagnostics:
            click.echo(str(diagnostic), err=True)
        errors = sum(1 for d in err.diagnostics if d.is_error)
        click.echo(f"fksim: {provision_file}: {errors} error(s); nothing applied and the base not started "
                   "(--keep-going starts it, skipping the items in error)", err=True)
        ctx.exit(EXIT_BAD_INPUT)
    except FksimError as err:
        click.echo(f"fksim: {err}", err=True)
        ctx.exit(EXIT_BAD_INPUT)

    def stop(signum: int, _frame: FrameType | None) -> None:
        twin.request_stop()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for diagnostic in twin.diagnostics:
            click.echo(str(diagnostic), err=True)
        sips = ", ".join(format_address(s.address) for s in twin.sockets)
        web.start()
        twin.start()
        click.echo(f"fksim serve: {twin.profile.id} running; web {web.url} ; SIP {sips} -> server "
                   f"{twin.server_text}; NVM {twin.config.state}; Ctrl-C stops")
        click.echo(f"fksim serve: log in at {web.url} as {_login_hint(twin)}")
        sys.stdout.flush()
        with collector_for_long_runs():
            twin.run(until=run_for)
    finally:
        web.stop()
        twin.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo(f"fksim serve: {twin.shutdown_summary}")


def _login_hint(twin: LiveTwin) -> str:
    """Who logs in, and whether the first login must change the factory password (docs/web.md)."""
    if twin.store.admin_must_change_password:
        return "admin / admin (the factory password: the first login asks for a new one)"
    return "admin with the password set earlier (kept in the NVM file)"


def _build(model_id: str, provision_file: str | None, http: str, sip_bind: str, server: str,
           embedded_bind: str, state: str | None, dect_managers: int, domain: str,
           shutdown_wait: float, tls_ca: str | None = None,
           keep_going: bool = False) -> tuple[LiveTwin, WebServer]:
    profile = get_profile(model_id)
    maximum = profile.capacities.per_system.dect_managers.value
    if dect_managers > maximum:
        raise FksimError(f"{profile.id} has 1 to {maximum} DECT manager(s), not {dect_managers}")
    provision = None
    if provision_file is not None:
        # A regular file of bounded size: /dev/zero, a FIFO or a directory is one clear line, exit 2.
        provision = (Path(provision_file).name, read_provisioning_file(provision_file))
    config = LiveConfig(
        model=profile.id,
        state=state or f"fksim-{profile.id.lower()}.sqlite",
        sip_bind=parse_address(sip_bind, what="--sip-bind"),
        server=None if server.strip().lower() == "embedded" else parse_address(server, what="--server",
                                                                                default_port=5060),
        embedded_bind=parse_address(embedded_bind, what="--embedded-bind"),
        provision=provision,
        dect_managers=dect_managers,
        domain=domain,
        shutdown_wait=shutdown_wait,
        tls_ca=tls_ca,
        keep_going=keep_going,
    )
    http_address = parse_address(http, what="--http")
    twin = LiveTwin(config)
    try:
        web = WebServer(twin, http_address)
    except BaseException:
        twin.close()
        raise
    return twin, web
