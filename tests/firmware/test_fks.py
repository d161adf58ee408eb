"""The per-handset FKS application: local mode, never optimistic, pending until the NOTIFY, no loops."""

import pytest

from dect.identity import Ipui
from firmware.fks import (
    TEXT_INVALID,
    TEXT_REFUSED,
    TEXT_UNAVAILABLE,
    TRANSITIONS,
    FeatureChange,
    FksApplication,
    FksInput,
    FksState,
    Indicate,
    Persist,
    SendSet,
    Signal,
    Subscribe,
    Unsubscribe,
)
from firmware.nvm import Account, NvmStore, RegStatus, SipProvider
from firmware.system import BaseSystem, SystemAddresses
from models.profiles import get_profile
from sip.errors import LocalProtocolError
from sip.events import Registered, RegistrationFailed
from sip.feature_event import (
    DoNotDisturbEvent,
    ForwardingEvent,
    ForwardingType,
    SetDoNotDisturb,
    SetForwarding,
)
from sip.state import Feature, FeatureState, Forwarding
from sip.subscriber import TABLE as SUB_TABLE
from sip.subscriber import SubInput, SubState

DND_ON = FeatureChange(feature=Feature.DND, active=True)
CFA_ON = FeatureChange(feature=Feature.CFA, active=True, to="3000")


def _synced():
    app = FksApplication("2001")
    assert app.enable() == [Subscribe()]
    app.subscription_up()
    app.state_received((DoNotDisturbEvent(device="2001", on=False),))
    assert app.fks is FksState.SYNCED
    return app


def test_local_mode_applies_and_persists_without_sip():
    app = FksApplication("2001")
    commands = app.request(DND_ON)
    assert commands[0] == Persist(state=FeatureState(dnd=True))
    assert commands[1].signal is Signal.CONFIRM and commands[1].text == "Do not disturb\nOn"
    assert not any(isinstance(c, SendSet | Subscribe) for c in commands)


def test_local_forwarding_needs_a_number():
    app = FksApplication("2001")
    (indication,) = app.request(FeatureChange(feature=Feature.CFB, active=True))
    assert indication.signal is Signal.NEGATIVE and indication.text == TEXT_INVALID
    assert app.state == FeatureState()


def test_request_while_connecting_is_refused_and_state_kept():
    app = FksApplication("2001", FeatureState(dnd=True))
    app.enable()
    (indication,) = app.request(FeatureChange(feature=Feature.DND, active=False))
    assert indication == Indicate(state=FeatureState(dnd=True), features=(Feature.DND,), text=TEXT_UNAVAILABLE,
                                  signal=Signal.NEGATIVE)
    assert app.state.dnd is True


def test_request_becomes_set_and_handset_waits_for_the_notify():
    app = _synced()
    assert app.request(DND_ON) == [SendSet(item=SetDoNotDisturb(device="2001", on=True))]
    assert app.state.dnd is False  # never optimistic
    assert app.set_answered(SetDoNotDisturb(device="2001", on=True), 200) == []
    assert app.state.dnd is False
    persist, indication = app.state_received((DoNotDisturbEvent(device="x", on=True),))
    assert persist == Persist(state=FeatureState(dnd=True))  # kept over a reboot (issue 12 §5)
    assert indication.signal is Signal.CONFIRM and indication.state.dnd is True and not app.pending


def test_forwarding_set_carries_target_and_rings():
    app = _synced()
    (cmd,) = app.request(FeatureChange(feature=Feature.CFNA, active=True, to="3002", rings=4))
    assert cmd == SendSet(item=SetForwarding(device="2001", forwarding_type=ForwardingType.CFNA, activate=True,
                                             forward_dn="3002", ring_count=4))


def test_refused_set_reverts_the_handset():
    app = _synced()
    app.request(CFA_ON)
    (indication,) = app.set_answered(CFA_ON.as_set("2001"), 403)
    assert indication.signal is Signal.NEGATIVE and indication.text == TEXT_REFUSED
    assert indication.state.cfa == Forwarding() and not app.pending


def test_server_state_other_than_requested_is_shown_as_refused():
    app = _synced()
    app.request(CFA_ON)
    (indication,) = app.state_received((ForwardingEvent(device="d", forwarding_type=ForwardingType.CFA,
                                                        status=False),))
    assert indication.signal is Signal.NEGATIVE and not app.pending


def test_server_change_reaches_handset_and_never_becomes_a_set():
    app = _synced()
    commands = app.state_received((ForwardingEvent(device="d", forwarding_type=ForwardingType.CFB, status=True,
                                                   forward_to="3001"),))
    persist, indication = commands
    assert isinstance(persist, Persist) and persist.state.cfb.active and persist.state.cfb.to == "3001"
    assert indication.features == (Feature.CFB,) and indication.signal is Signal.CONFIRM
    assert not any(isinstance(c, SendSet) for c in commands)


def test_full_state_with_no_change_indicates_nothing():
    app = _synced()
    assert app.state_received(tuple(FeatureState().events("2001"))) == []


def test_subscription_loss_fails_pending_and_refuses_new_requests():
    app = _synced()
    app.request(DND_ON)
    (indication,) = app.subscription_down()
    assert indication.text == TEXT_UNAVAILABLE and app.fks is FksState.UNAVAILABLE
    (refusal,) = app.request(DND_ON)
    assert refusal.signal is Signal.NEGATIVE
    # A NOTIFY's state is shown, but only the subscriber core says the dialog is back (issue 18).
    app.state_received((DoNotDisturbEvent(device="2001", on=True),))
    assert app.fks is FksState.UNAVAILABLE and app.state.dnd
    app.subscription_up()
    assert app.fks is FksState.SYNCED


def test_resubscribing_fails_pending_and_refuses_as_connecting():
    """Issue 18: the core subscribes again (a 481 to a Set after a server restart): the application
    is CONNECTING, refuses requests, and never hands the core a Set it cannot carry."""
    app = _synced()
    app.request(DND_ON)
    (indication,) = app.subscription_connecting()
    assert indication.text == TEXT_UNAVAILABLE and app.fks is FksState.CONNECTING and not app.pending
    (refusal,) = app.request(DND_ON)
    assert refusal.signal is Signal.NEGATIVE and refusal.text == TEXT_UNAVAILABLE
    app.subscription_up()
    assert app.request(DND_ON) == [SendSet(item=SetDoNotDisturb(device="2001", on=True))]


def test_disable_unsubscribes_and_keeps_the_server_state_locally():
    app = _synced()
    app.state_received((DoNotDisturbEvent(device="2001", on=True),))
    commands = app.disable()
    assert commands[:2] == [Unsubscribe(), Persist(state=FeatureState(dnd=True))]
    assert app.fks is FksState.LOCAL


def test_a_late_set_answer_after_the_subscription_went_down_is_harmless():
    app = _synced()
    app.request(DND_ON)
    app.subscription_down()
    assert app.set_answered(DND_ON.as_set("2001"), 200) == []


def test_the_table_is_total():
    """Every input can arrive in every state (late answers, stale NOTIFYs): each has a row."""
    assert set(TRANSITIONS) == {(s, i) for s in FksState for i in FksInput}
    assert all(callable(getattr(FksApplication, action)) for action, _next in TRANSITIONS.values())


def test_a_missing_row_is_an_error_not_a_silent_pass():
    app = FksApplication("2001")
    app._table = {k: v for k, v in TRANSITIONS.items() if k != (FksState.LOCAL, FksInput.SUBSCRIPTION_UP)}
    with pytest.raises(LocalProtocolError, match="no transition"):
        app.subscription_up()


def test_a_set_answer_after_off_and_on_again_is_harmless():
    app = _synced()
    app.request(DND_ON)
    app.disable()
    app.enable()
    assert app.set_answered(DND_ON.as_set("2001"), 200) == [] and not app.pending


def test_invalid_ring_count_is_refused_before_sending():
    app = _synced()
    (indication,) = app.request(FeatureChange(feature=Feature.CFNA, active=True, to="3002", rings=1))
    assert indication.signal is Signal.NEGATIVE and indication.text == "Rings: 0 or 2-20"


def test_features_the_profile_does_not_sync_stay_with_the_base():
    app = FksApplication("2001", synced=frozenset({Feature.DND}))
    app.enable()
    app.subscription_up()
    commands = app.request(CFA_ON)
    assert not any(isinstance(c, SendSet) for c in commands)
    assert commands[0] == Persist(state=FeatureState(cfa=Forwarding(active=True, to="3000")))
    assert app.request(DND_ON) == [SendSet(item=SetDoNotDisturb(device="2001", on=True))]
    # The server's word on an unsynced feature changes nothing on the base.
    assert app.state_received((ForwardingEvent(device="d", forwarding_type=ForwardingType.CFA,
                                               status=False),)) == []
    assert app.state.cfa.active is True


# --- the FKS application, the subscriber core and the registration, driven together (issue 18) ----

ACCOUNT_IPUI = Ipui.parse("0aa0000001")
NOW = 100.0


def _account_line():  # type: ignore[no-untyped-def]
    """A booted single-cell system serving one FKS-active account (nothing is on the wire)."""
    store = NvmStore(":memory:")
    store.put_provider(SipProvider(provider_id=1, domain="as.example.com"))
    store.add_handset(ipui=ACCOUNT_IPUI, reg_status=RegStatus.REGISTERED)
    store.put_account(ACCOUNT_IPUI, Account(user_name="2001", auth_password="x",
                                            feature_key_sync_active=True))
    system = BaseSystem(get_profile("N870"), store, addresses=SystemAddresses(
        dect_managers=(("192.0.2.10", 5060),), server=("192.0.2.1", 5060)))
    system.boot(0.0)
    dm = system.dms[1]
    line = dm.lines[ACCOUNT_IPUI]
    return dm, line, dm._subscriber(line)


def _consistent(fks: FksState, sub: SubState, registered: bool) -> bool:
    """What the FKS application may believe about the core, and the registration gate:
    SYNCED exactly while the core is ACTIVE; CONNECTING while it subscribes; LOCAL only with no
    subscription under way; a subscription (being) set up only while registered."""
    if (fks is FksState.SYNCED) != (sub is SubState.ACTIVE):
        return False
    if sub is SubState.SUBSCRIBING and fks is not FksState.CONNECTING:
        return False
    if fks is FksState.LOCAL and sub not in (SubState.IDLE, SubState.STOPPED, SubState.UNSUBSCRIBING):
        return False
    return registered or sub in (SubState.IDLE, SubState.STOPPED, SubState.UNSUBSCRIBING)


TRIPLES = [(f, s, r) for f in FksState for s in SubState for r in (False, True) if _consistent(f, s, r)]
REGISTRATION_INPUTS = ("registered", "registration lost")
#: The inputs from outside the pair: the handset and gating (FKS), the network and timers (core), the
#: registration. The core's START and STOP come only from the DECT manager carrying out FKS
#: commands and registration events, so they are driven through those.
PAIR_INPUTS = [FksInput.ENABLED, FksInput.DISABLED, FksInput.HANDSET_REQUEST,
               *(i for i in SubInput if i not in (SubInput.START, SubInput.STOP)), *REGISTRATION_INPUTS]


def _deliver(dm, line, sub, event) -> None:  # type: ignore[no-untyped-def]
    """One input, through the DECT manager's real routing (commands to the core, its events back)."""
    if event is FksInput.ENABLED:
        dm._commands(line, line.fks.enable(), NOW)
    elif event is FksInput.DISABLED:
        dm._commands(line, line.fks.disable(), NOW)
    elif event is FksInput.HANDSET_REQUEST:
        dm._commands(line, line.fks.request(DND_ON), NOW)
    elif event == "registered":
        dm._core_outputs(line, line.registration, [Registered(expires_at=NOW + 3600)], NOW)
    elif event == "registration lost":
        dm._core_outputs(line, line.registration,
                         [RegistrationFailed(status=403, reason="Forbidden", retry_at=NOW + 60)], NOW)
    else:
        dm._core_outputs(line, sub, sub._fire(NOW, event), NOW)


@pytest.mark.parametrize(("fks", "sub_state", "registered"), TRIPLES,
                         ids=[f"{f.value}-{s.value}-{'reg' if r else 'unreg'}" for f, s, r in TRIPLES])
def test_every_state_pair_and_every_input_of_both_machines_keeps_them_agreeing(fks, sub_state, registered):
    """As h2 tests its stream machine: every consistent (FKS state, subscriber state, registered)
    and every input of either machine (and of the registration). Nothing raises, a Set is only
    handed to an ACTIVE core, and both machines still agree afterwards. A subscriber input with no
    row is one its core filters out before the table in that state (no transaction pending, a
    NOTIFY outside an attempt gets 481, timers are state-guarded); the table refuses it loudly."""
    assert len(TRIPLES) >= 12
    for event in PAIR_INPUTS:
        dm, line, sub = _account_line()
        line.fks.fks, sub.state, line.registered = fks, sub_state, registered
        sub._reset_dialog()
        if isinstance(event, SubInput) and (sub_state, event) not in SUB_TABLE:
            with pytest.raises(LocalProtocolError):
                sub._fire(NOW, event)
            continue
        _deliver(dm, line, sub, event)
        after = (line.fks.fks, sub.state, line.registered)
        assert _consistent(*after), f"{event}: {(fks, sub_state, registered)} -> {after}"


def test_issue_18_a_request_while_the_core_resubscribes_is_refused_not_raised():
    """The core gets a 481 to a Set (the server restarted) and subscribes again; a second request
    from the handset in that window is refused as CONNECTING refuses it."""
    dm, line, sub = _account_line()
    line.fks.fks, sub.state, line.registered = FksState.SYNCED, SubState.ACTIVE, True
    sub._reset_dialog()
    dm._commands(line, line.fks.request(DND_ON), NOW)
    assert line.fks.pending
    dm._core_outputs(line, sub, sub._fire(NOW, SubInput.GONE), NOW)
    assert sub.state is SubState.SUBSCRIBING and line.fks.fks is FksState.CONNECTING
    (refusal,) = line.fks.request(DND_ON)
    assert isinstance(refusal, Indicate) and refusal.text == TEXT_UNAVAILABLE
