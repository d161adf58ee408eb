"""`fksim provision lint`: diagnostics and exit codes 0 clean / 1 warnings / 2 errors, no tracebacks."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from scenarios.cli import cli

ROOT = Path(__file__).resolve().parents[2]
FKSIM = ROOT / ".venv" / "bin" / "fksim"
DATA = ROOT / "tests" / "firmware" / "data"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(FKSIM), *args], capture_output=True, text=True, timeout=60, cwd=DATA)
    assert "Traceback" not in done.stdout + done.stderr
    return done


def invoke(*args: str):
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


def test_clean_file_exits_0():
    result = invoke("provision", "lint", str(DATA / "good.xml"), "--model", "n870")
    assert result.exit_code == 0
    assert result.stdout == ""


def test_gated_fks_is_a_warning_exit_1():
    result = invoke("provision", "lint", str(DATA / "good.xml"), "--model", "N670", "--internal-telephony", "on")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{DATA / 'good.xml'}:19: warning: FeatureKeySyncActive=1 will not take effect on N670: "
        "internal telephony enabled"
    ]


def test_errors_exit_2_with_line_numbers():
    result = invoke("provision", "lint", str(DATA / "unknown-params.xml"), "--model", "N870")
    assert result.exit_code == 2
    lines = result.stdout.splitlines()
    assert len(lines) == 9
    assert lines[0].startswith(f"{DATA / 'unknown-params.xml'}:6: error: ")


@pytest.mark.parametrize("name", ["malformed.xml", "entity-bomb.xml", "external-entity.xml"])
def test_unsafe_or_broken_xml_exit_2(name):
    done = run("provision", "lint", name, "--model", "N870")
    assert done.returncode == 2
    assert done.stdout.startswith(f"{name}:") and ": error: " in done.stdout


def test_exit_codes_through_the_console_script():
    assert run("provision", "lint", "good.xml", "--model", "N870").returncode == 0
    assert run("provision", "lint", "good.xml", "--model", "N610", "--internal-telephony", "on").returncode == 1
    assert run("provision", "lint", "internal-telephony.xml", "--model", "N670").returncode == 2


def test_unknown_model_is_one_line_exit_2():
    done = run("provision", "lint", "good.xml", "--model", "N999")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        'fksim: unknown model "N999"; valid models: N610, N670, N870, N870E, embedded-integrator, '
        "virtual-integrator"
    ]


def test_missing_file_is_one_line_exit_2():
    done = run("provision", "lint", "no-such-file.xml", "--model", "N870")
    assert done.returncode == 2
    assert done.stderr.strip() == "fksim: cannot read no-such-file.xml: No such file or directory"


def test_internal_telephony_on_a_model_without_it_exit_2():
    done = run("provision", "lint", "good.xml", "--model", "virtual-integrator", "--internal-telephony", "on")
    assert done.returncode == 2
    assert 'virtual-integrator has no "Internal telephony" setting' in done.stderr


def test_bad_option_values_exit_2():
    assert run("provision", "lint", "good.xml").returncode == 2  # --model missing
    assert run("provision", "lint", "good.xml", "--model", "N670", "--internal-telephony", "maybe").returncode == 2
    assert run("provision", "lint", ".", "--model", "N670").returncode == 2  # a directory


def test_binary_garbage_file_exit_2(tmp_path):
    junk = tmp_path / "junk.xml"
    junk.write_bytes(bytes(range(256)) * 4)
    done = subprocess.run([str(FKSIM), "provision", "lint", str(junk), "--model", "N870"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stdout + done.stderr
    assert done.stdout.startswith(f"{junk}:1: error: ")


# --- hostile files (issue 11) -------------------------------------------------------------------

HOSTILE = """<?xml version="1.0" encoding="UTF-8"?>
{doctype}<provisioning version="1.1">
<nvm>
<oper name="add_hs" value="029e74a599"><param name="hs.RegStatus" value="ToReg"/></oper>
{body}
</nvm>
</provisioning>
"""


def _hostile(tmp_path: Path, body: str, doctype: str = "") -> Path:
    path = tmp_path / "hostile.xml"
    path.write_text(HOSTILE.format(body=body, doctype=doctype))
    return path


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SipAccount.029e74a599.UserName", "2001&#13;&#10;X-Injected: yes"),
        ("SipAccount.029e74a599.UserName", "20 01"),
        ("SipAccount.029e74a599.AuthName", "&lt;2001&gt;"),
        ("SipAccount.029e74a599.DisplayName", "Reception&#10;Via: x"),
        ("SipAccount.029e74a599.AuthPassword", "pw&#13;"),
        ("SipProvider.1.Domain", "as.example.com&#13;&#10;X: 1"),
        ("SipProvider.1.RegServerPort", "0"),
    ],
)
def test_an_injecting_account_field_is_an_error_naming_it_exit_2(tmp_path, name, value):
    path = _hostile(tmp_path, f'<param name="{name}" value="{value}"/>')
    done = run("provision", "lint", str(path), "--model", "N870")
    assert done.returncode == 2
    assert done.stdout.startswith(f"{path}:5: error: {name}: "), done.stdout
    assert "X-Injected: yes\n" not in done.stdout


def test_a_provider_index_of_thousands_of_digits_exit_2(tmp_path):
    path = _hostile(tmp_path, f'<param name="SipProvider.{"1" * 5000}.Domain" value="as.example.com"/>')
    done = run("provision", "lint", str(path), "--model", "N870")
    assert done.returncode == 2
    assert "providers are numbered 1..10" in done.stdout


def test_a_dtd_attribute_default_is_refused_naming_the_line_exit_2(tmp_path):
    path = _hostile(tmp_path, '<param name="SipAccount.029e74a599.FeatureKeySyncActive"/>',
                    doctype='<!DOCTYPE provisioning [<!ATTLIST param value CDATA "1">]>\n')
    done = run("provision", "lint", str(path), "--model", "N870")
    assert done.returncode == 2
    assert done.stdout.startswith(f"{path}:2: error: document type declaration <!DOCTYPE provisioning> refused")


def test_dev_zero_is_refused_exit_2():
    done = run("provision", "lint", "/dev/zero", "--model", "N870")
    assert done.returncode == 2
    assert done.stderr.strip() == "fksim: cannot read /dev/zero: a device, not a regular file"


def test_a_fifo_is_refused_without_hanging_exit_2(tmp_path):
    fifo = tmp_path / "p.xml"
    os.mkfifo(fifo)
    done = run("provision", "lint", str(fifo), "--model", "N870")  # bounded by run()'s timeout
    assert done.returncode == 2
    assert done.stderr.strip() == f"fksim: cannot read {fifo}: a FIFO, not a regular file"
