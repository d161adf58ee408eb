"""Services the server does not assign (issue 12 §1): a full state without them makes them not
available on the handset, a request for one is refused without a Set, a NOTIFY that reports one again
makes it available; switching FKS off gives every feature back to the base."""

from dect.handset import Handset
from dect.identity import Ipui
from firmware.fks import (
    TEXT_NOT_ASSIGNED,
    FeatureChange,
    FksApplication,
    Indicate,
    SendSet,
    Signal,
)
from models.handset_types import Form
from sip.feature_event import DoNotDisturbEvent, ForwardingEvent, ForwardingType
from sip.state import Feature

DND = DoNotDisturbEvent(device="2001", on=False)
CFA = ForwardingEvent(device="2001", forwarding_type=ForwardingType.CFA, status=False, forward_to="")
CFB = ForwardingEvent(device="2001", forwarding_type=ForwardingType.CFB, status=False, forward_to="")
CFB_ON = FeatureChange(feature=Feature.CFB, active=True, to="3001")


def _synced_with(*items):
    app = FksApplication("2001")
    app.enable()
    app.subscription_up()
    return app, app.state_received(items, full=True)


def test_a_full_state_without_a_service_makes_it_not_available():
    app, commands = _synced_with(DND, CFA)
    assert app.offered == {Feature.DND, Feature.CFA}
    assert [(c.features, c.signal, c.text) for c in commands if isinstance(c, Indicate)] == [
        ((Feature.CFB,), Signal.NEGATIVE, f"Divert when busy\n{TEXT_NOT_ASSIGNED}"),
        ((Feature.CFNA,), Signal.NEGATIVE, f"Divert no answer\n{TEXT_NOT_ASSIGNED}"),
    ]
    assert app.indication(Feature.CFB).signal is Signal.NEGATIVE
    assert app.indication(Feature.DND).signal is Signal.CONFIRM


def test_a_request_for_a_service_not_offered_sends_nothing():
    app, _ = _synced_with(DND, CFA)
    commands = app.request(CFB_ON)
    assert not any(isinstance(c, SendSet) for c in commands)
    (refusal,) = commands
    assert isinstance(refusal, Indicate) and refusal.signal is Signal.NEGATIVE
    assert refusal.text.endswith(TEXT_NOT_ASSIGNED) and app.pending == {}


def test_a_notify_that_reports_the_service_makes_it_available_again():
    app, _ = _synced_with(DND, CFA)
    commands = app.state_received((CFB,))          # a partial NOTIFY: only adds
    assert Feature.CFB in app.offered and Feature.CFNA not in app.offered
    assert [c.signal for c in commands if isinstance(c, Indicate) and c.features == (Feature.CFB,)] == [
        Signal.CONFIRM]
    assert any(isinstance(c, SendSet) for c in app.request(CFB_ON))


def test_switching_fks_off_gives_every_feature_back():
    app, _ = _synced_with(DND)
    commands = app.disable()
    assert app.offered == set(Feature)
    regained = [c.features[0] for c in commands if isinstance(c, Indicate) and c.signal is Signal.CONFIRM]
    assert regained == [Feature.CFA, Feature.CFB, Feature.CFNA]


def test_the_handset_menu_shows_a_feature_it_was_told_is_not_available():
    handset = Handset(Ipui.parse("029e74a599"))
    handset.unavailable.add("cfb")
    form = _find_form(handset.type.menu, "cfb")
    assert form is not None
    assert handset._form_values(form)["Status"] == "n/a"
    handset.unavailable.discard("cfb")
    assert handset._form_values(form)["Status"] == "Off"


def _find_form(node, feature):
    for item in getattr(node, "items", ()):
        if isinstance(item, Form) and item.feature == feature:
            return item
        found = _find_form(item, feature)
        if found is not None:
            return found
    return None
