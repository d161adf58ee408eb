"""The per-handset FKS application: local mode, never optimistic, pending until the NOTIFY, no loops."""

import pytest

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
from sip.errors import LocalProtocolError
from sip.feature_event import (
    DoNotDisturbEvent,
    ForwardingEvent,
    ForwardingType,
    SetDoNotDisturb,
    SetForwarding,
)
from sip.state import Feature, FeatureState, Forwarding

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
    (indication,) = app.state_received((DoNotDisturbEvent(device="x", on=True),))
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
    (indication,) = commands
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
