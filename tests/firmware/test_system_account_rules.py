"""Defence in depth: an account value stored before the account rules (or by another tool) never
reaches the wire. The firmware judges the NVM's values again when it starts an account; an invalid
one keeps that account down with the reason, and the others start as usual."""

from __future__ import annotations

from dect.identity import Ipui
from firmware.dect_manager import SipOut
from firmware.nvm import Account, NvmStore, RegStatus, SipProvider
from firmware.system import BaseSystem, SystemAddresses
from models.profiles import get_profile

GOOD = Ipui.parse("029e74a599")
BAD = Ipui.parse("029e74a5aa")
ADDRESSES = SystemAddresses(dect_managers=(("127.0.0.1", 5060),), server=("127.0.0.1", 5070))


def _sent(out) -> bytes:
    return b"".join(o.data for o in out if isinstance(o, SipOut))


def _base(bad: Account, provider: SipProvider | None = None) -> tuple[NvmStore, BaseSystem]:
    store = NvmStore()
    store.put_provider(provider or SipProvider(provider_id=1, domain="as.example.com"))
    for ipui, account in ((GOOD, Account(user_name="2001")), (BAD, bad)):
        store.add_handset(ipui=ipui, reg_status=RegStatus.REGISTERED)
        store.put_account(ipui, account)
    return store, BaseSystem(get_profile("N870"), store, addresses=ADDRESSES)


def _boot(system: BaseSystem) -> bytes:
    out = system.boot(0.0)
    out += system.handle_timer(1.0)  # accounts start one after another (START_PACE)
    return _sent(out)


def test_an_injected_user_name_in_the_nvm_does_not_start_and_says_why():
    store, system = _base(Account(user_name="2002\r\nX-Injected: yes", auth_name="2002"))
    wire = _boot(system)
    assert b"sip:2001@as.example.com" in wire  # the good account registers
    assert b"X-Injected" not in wire and b"2002" not in wire
    assert system.line_of(BAD) is None
    assert system.not_started[BAD].startswith(f"SipAccount.{BAD}.UserName: ")
    assert "control character (CR)" in system.not_started[BAD]
    store.close()


def test_an_invalid_display_or_auth_name_also_keeps_the_account_down():
    for bad, field in ((Account(user_name="2002", display_name="A\nB"), "DisplayName"),
                       (Account(user_name="2002", auth_name="a b"), "AuthName")):
        store, system = _base(bad)
        _boot(system)
        assert system.line_of(BAD) is None
        assert system.not_started[BAD].startswith(f"SipAccount.{BAD}.{field}: ")
        store.close()


def test_an_invalid_provider_keeps_its_accounts_down_instead_of_crashing():
    store, system = _base(Account(user_name="2002"),
                          SipProvider(provider_id=1, domain="as.example.com\r\nVia: x"))
    assert _boot(system) == b""
    assert system.not_started[GOOD].startswith("SipProvider.1.Domain: ")
    store.close()


def test_a_provider_without_a_domain_keeps_the_account_down_instead_of_crashing():
    store, system = _base(Account(user_name="2002"), SipProvider(provider_id=1))
    assert _boot(system) == b""
    assert system.not_started[GOOD] == "SIP provider 1 has no domain (SipProvider.<n>.Domain)"
    store.close()


def test_a_corrected_account_starts_when_the_accounts_change():
    store, system = _base(Account(user_name="2002 x"))
    _boot(system)
    assert BAD in system.not_started
    store.put_account(BAD, Account(user_name="2002"))
    wire = _sent(system.accounts_changed(2.0) + system.handle_timer(3.0))
    assert b"sip:2002@as.example.com" in wire
    assert BAD not in system.not_started and system.line_of(BAD) is not None
    store.close()
