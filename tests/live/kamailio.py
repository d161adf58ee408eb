"""Kamailio as a real outbound proxy and registrar for the live twin's tests, and a test CA.

`start_kamailio` writes a configuration of its own (below: registrar with usrloc in memory, loose
routing with record_route, everything else relayed to the application server), runs Kamailio in the
foreground (`-DD -E`) on loopback ports only, with its runtime directory and pid file under the
test's tmp_path, and `stop()` kills it. `make_ca` makes a certificate authority and a server
certificate for 127.0.0.1 with the `openssl` command line.
"""

from __future__ import annotations

import glob
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from live.kit import in_ci, require_tool, stop_process

#: Each message Kamailio routes is logged as one line starting with this tag (the tests read them).
TAG = "FKSIM-ROUTE"

CONFIG = """#!KAMAILIO
# fksim's test proxy: registrar (usrloc in memory) and loose-routing outbound proxy in front of the
# application server at {as_host}:{as_port}. Written by tests/live/kamailio.py for one test.
debug=2
log_stderror=yes
fork=yes
children=2
tcp_children=2
auto_aliases=no
listen=udp:127.0.0.1:{port}
listen=tcp:127.0.0.1:{port}
{tls_listen}
alias="{domain}"
tcp_connection_lifetime=3605
enable_tls={enable_tls}
mpath="{modules}"

{tls_module}
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"

modparam("usrloc", "db_mode", 0)
modparam("rr", "enable_double_rr", 1)
{tls_params}

request_route {{
    if (!mf_process_maxfwd_header("10")) {{
        sl_send_reply("483", "Too Many Hops");
        exit;
    }}
    xlog("L_NOTICE", "{tag} in $rm $ru proto=$proto from=$si:$sp route=[$hdr(Route)] via=[$hdr(Via)]\\n");
    # A connection the base opened is where its Contact lives: reuse it for requests to the base
    # (the alias is the Via's port, which is the base's Contact port).
    if (proto == TCP || proto == TLS) {{
        force_tcp_alias();
    }}
    if (has_totag()) {{
        # In-dialog requests follow the route set (RFC 3261 §16.12).
        if (loose_route()) {{
            route(RELAY);
            exit;
        }}
        if (is_method("ACK")) {{
            if (t_check_trans()) {{
                t_relay();
            }}
            exit;
        }}
        sl_send_reply("404", "Not here");
        exit;
    }}
    if (is_method("CANCEL")) {{
        if (t_check_trans()) {{
            route(RELAY);
        }}
        exit;
    }}
    # An initial request: the base preloaded our Route (RFC 3261 §8.1.2; logged above for the
    # test); it has done its job here, as in Kamailio's own default configuration.
    remove_hf("Route");
    if (is_method("REGISTER")) {{
        if (!save("location")) {{
            sl_reply_error();
        }}
        xlog("L_NOTICE", "{tag} registered $tu contact=[$ct]\\n");
        exit;
    }}
    if (is_method("SUBSCRIBE|INVITE")) {{
        record_route();
    }}
    $du = "sip:{as_host}:{as_port}";
    route(RELAY);
}}

route[RELAY] {{
    xlog("L_NOTICE", "{tag} out $rm $ru du=$du\\n");
    if (!t_relay()) {{
        sl_reply_error();
    }}
    exit;
}}

onreply_route {{
    xlog("L_NOTICE", "{tag} reply $rs $rr proto=$proto from=$si:$sp\\n");
}}
"""

TLS_CONFIG = """[server:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
private_key = {key}
certificate = {cert}

[client:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
"""


def free_port_pair() -> int:
    """A loopback port number free for both UDP and TCP."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise AssertionError("no loopback port free for both UDP and TCP")


@dataclass
class TestCa:
    """A CA made for one test, and a server certificate it signed for 127.0.0.1."""

    ca: Path
    cert: Path
    key: Path


def make_ca(directory: Path, name: str = "fksim test CA") -> TestCa:
    """A CA and a server certificate for IP 127.0.0.1 (subjectAltName), with `openssl`."""
    openssl = require_tool("openssl")
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca = directory / "ca.key", directory / "ca.pem"
    key, csr, cert = directory / "server.key", directory / "server.csr", directory / "server.pem"
    ext = directory / "server.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                   "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True, timeout=60)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca),
        "-days", "2", "-subj", f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
        "-out", str(cert), "-days", "2", "-extfile", str(ext))
    return TestCa(ca=ca, cert=cert, key=key)


@dataclass
class Kamailio:
    process: subprocess.Popen[str]
    port: int
    tls_port: int | None
    lines: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def routed(self) -> list[str]:
        return [line[line.index(TAG):].strip() for line in list(self.lines) if TAG in line]

    def stop(self) -> None:
        if self.process.poll() is None:
            stop_process(self.process, grace=5.0)


def start_kamailio(tmp_path: Path, *, application_server: tuple[str, int], domain: str = "as.example.com",
                   tls: TestCa | None = None, timeout: float = 20.0) -> Kamailio:
    binary = require_tool("kamailio")
    run_dir = tmp_path / "kamailio"
    run_dir.mkdir(exist_ok=True)
    port = free_port_pair()
    tls_port = free_port_pair() if tls is not None else None
    tls_params = tls_listen = tls_module = ""
    if tls is not None and not Path(_modules(), "tls.so").exists():
        message = "kamailio's TLS module is not installed (Debian kamailio-tls-modules; CI installs it: .ci/run)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    if tls is not None:
        tls_cfg = run_dir / "tls.cfg"
        tls_cfg.write_text(TLS_CONFIG.format(key=tls.key, cert=tls.cert))
        tls_listen = f"listen=tls:127.0.0.1:{tls_port}"
        tls_module = 'loadmodule "tls.so"'
        tls_params = f'modparam("tls", "config", "{tls_cfg}")'
    config = run_dir / "kamailio.cfg"
    config.write_text(CONFIG.format(
        port=port, tls_listen=tls_listen, enable_tls="yes" if tls else "no", tls_module=tls_module,
        tls_params=tls_params, domain=domain, as_host=application_server[0], as_port=application_server[1],
        tag=TAG, modules=_modules()))
    check = subprocess.run([binary, "-f", str(config), "-c"], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, f"kamailio -c refused the test configuration:\n{check.stderr}"
    argv = [binary, "-f", str(config), "-DD", "-E", "-Y", str(run_dir), "-P", str(run_dir / "kamailio.pid"),
            "-w", str(run_dir), "-m", "64", "-M", "8"]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    kamailio = Kamailio(process=process, port=port, tls_port=tls_port)

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            kamailio.lines.append(line)

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"kamailio exited with {process.returncode}:\n{kamailio.output}")
        if _listening(port) and (tls_port is None or _listening(tls_port)):
            return kamailio
        time.sleep(0.1)
    kamailio.stop()
    raise AssertionError(f"kamailio did not listen within {timeout} s:\n{kamailio.output}")


def _modules() -> str:
    """Kamailio's module directory (Debian: /usr/lib/<multiarch>/kamailio/modules)."""
    found = sorted(glob.glob("/usr/lib/*/kamailio/modules/tm.so")) + sorted(glob.glob("/usr/lib*/kamailio/modules/tm.so"))
    if not found:
        raise AssertionError("kamailio is installed but its modules (tm.so) were not found under /usr/lib")
    return str(Path(found[0]).parent) + "/"


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0
