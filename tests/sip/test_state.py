"""FeatureState: how the server applies Set bodies and how the base applies event bodies."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sip.errors import LocalProtocolError
from sip.feature_event import (
    DoNotDisturbEvent,
    ForwardingEvent,
    ForwardingType,
    SetDoNotDisturb,
    SetForwarding,
    build_feature_body,
    parse_feature_body,
)
from sip.state import DEFAULT_RINGS, Feature, FeatureState, Forwarding


def test_default_is_everything_off_with_three_rings():
    s = FeatureState()
    assert s.as_json() == {
        "dnd": False,
        "cfa": {"active": False, "to": ""},
        "cfb": {"active": False, "to": ""},
        "cfna": {"active": False, "to": "", "rings": DEFAULT_RINGS},
    }


def test_server_applies_sets():
    s, f = FeatureState().with_set(SetDoNotDisturb(device="2001", on=True))
    assert s.dnd and f is Feature.DND
    s, f = s.with_set(
        SetForwarding(
            device="2001", forwarding_type=ForwardingType.CFNA, activate=True, forward_dn="3002", ring_count=4
        )
    )
    assert f is Feature.CFNA and s.cfna == Forwarding(active=True, to="3002", rings=4)
    # Deactivating with an empty forwardDN keeps the target, as BroadWorks does.
    s, _ = s.with_set(SetForwarding(device="2001", forwarding_type=ForwardingType.CFNA, activate=False))
    assert s.cfna == Forwarding(active=False, to="3002", rings=4)
    # Re-activating without a number uses the kept one.
    s, _ = s.with_set(SetForwarding(device="2001", forwarding_type=ForwardingType.CFNA, activate=True))
    assert s.cfna.active and s.cfna.to == "3002"


def test_activation_without_any_target_is_refused():
    with pytest.raises(LocalProtocolError, match="without a target"):
        FeatureState().with_set(SetForwarding(device="d", forwarding_type=ForwardingType.CFA, activate=True))


def test_base_applies_events_and_missing_forward_to_keeps_target():
    s = FeatureState().with_event(
        ForwardingEvent(device="d", forwarding_type=ForwardingType.CFB, status=True, forward_to="3001")
    )
    assert s.cfb == Forwarding(active=True, to="3001")
    s = s.with_event(ForwardingEvent(device="d", forwarding_type=ForwardingType.CFB, status=False))
    assert s.cfb == Forwarding(active=False, to="3001")
    assert s.with_event(DoNotDisturbEvent(device="d", on=True)).dnd


def test_changed_lists_features_that_differ():
    a = FeatureState()
    b, _ = a.with_set(SetDoNotDisturb(device="d", on=True))
    assert b.changed(a) == (Feature.DND,) and a.changed(a) == ()


targets = st.text(alphabet="0123456789", max_size=8)
forwardings = st.builds(Forwarding, active=st.booleans(), to=targets)
states = st.builds(
    FeatureState,
    dnd=st.booleans(),
    cfa=forwardings,
    cfb=forwardings,
    cfna=st.builds(Forwarding, active=st.booleans(), to=targets, rings=st.sampled_from([0, *range(2, 21)])),
)


@given(states)
def test_full_state_through_a_multipart_body_reproduces_the_state(state):
    """What the server sends on subscribe, parsed and applied by the base, is the server's state."""
    content_type, body = build_feature_body(state.events("2001"))
    received = FeatureState(cfna=Forwarding(rings=7))
    for item in parse_feature_body(content_type, body):
        received = received.with_event(item)
    assert received == state
