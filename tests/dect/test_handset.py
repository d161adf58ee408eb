"""The handset emulator against the base endpoint: location, registration, pending state, refusal, FAC, range."""

from __future__ import annotations

from dect.codec import MessageType, decode
from dect.endpoint import CC_03, DectEndpoint, RegistrationTable
from dect.events import (
    BaseMessageMalformed,
    FacCompleted,
    FacDialled,
    FeatureRequested,
    FeatureRequestRefused,
    FeatureStateIndicated,
    LocationAnswered,
    RegistrationAnswered,
    RequestNotSent,
)
from dect.handset import CC_02, MM_LOCATE, OUT_OF_RANGE, FeatureView, Handset
from dect.identity import Ipui
from dect.ies import RejectReasonCode, ReleaseReasonCode
from dect.ies_var import FixedIdentity
from dect.proprietary import DiversionSetting, DiversionType, DndSetting

IPUI = Ipui.parse("029e74a599")
LINK = str(IPUI)
PARK = FixedIdentity(bits=36, value=0x123456789)
DND_ON = ["Menu", "Select services", "Do not disturb", "On"]


class Air:
    """Delivers everything queued on both sides, instantly, and collects the events."""

    def __init__(self, registered: bool = True, pin: str = "0000") -> None:
        self.table = RegistrationTable(registered={IPUI} if registered else set(), pin=pin)
        self.base = DectEndpoint(policy=self.table, fixed_identity=PARK)
        self.hs = Handset(IPUI, registered=registered)
        self.base_events: list[object] = []
        self.hs_events: list[object] = []
        self.names: list[str] = []

    def pump(self, now: float) -> None:
        while True:
            up = self.hs.take_outgoing()
            down = self.base.take_outgoing()
            if not up and not down:
                return
            for data in up:
                self.names.append("PP " + decode(data).name)
                self.base_events += self.base.receive(LINK, data, now)
            for sent in down:
                self.names.append("FP " + sent.name)
                self.hs_events += self.hs.receive(sent.data, now)


def test_power_on_sends_locate_request_and_shows_the_base() -> None:
    air = Air()
    air.hs.power_on(0.0)
    assert air.hs.display == ["Searching base"]
    air.pump(0.0)
    assert air.names == ["PP LOCATE-REQUEST", "FP LOCATE-ACCEPT"]
    assert air.hs_events == [LocationAnswered(accepted=True)]
    assert air.hs.located and air.hs.display == ["Base"]


def test_unknown_handset_is_not_located() -> None:
    air = Air(registered=False)
    air.hs.registered = True  # it believes it is registered; the base does not know it
    air.hs.power_on(0.0)
    air.pump(0.0)
    assert air.hs_events == [LocationAnswered(accepted=False, reason=RejectReasonCode.IPUI_UNKNOWN)]
    assert air.hs.display == ["Searching base", "Not registered"]


def test_registration_with_pin_then_location() -> None:
    air = Air(registered=False, pin="1234")
    air.hs.power_on(0.0)
    assert air.hs.take_outgoing() == []  # not registered: no LOCATE-REQUEST
    air.hs.register("0000", 1.0)
    air.pump(1.0)
    assert air.hs_events == [
        RegistrationAnswered(accepted=False, reason=RejectReasonCode.AUTHENTICATION_FAILED)
    ]
    air.hs.register("1234", 2.0)
    air.pump(2.0)
    assert air.names[-9:] == [
        "PP ACCESS-RIGHTS-REQUEST",
        "FP KEY-ALLOCATE",                 # the PIN is proved, never sent (EN 300 175-5 §13.6)
        "PP AUTHENTICATION-REQUEST",
        "FP AUTHENTICATION-REPLY",
        "FP ACCESS-RIGHTS-ACCEPT",
        "PP LOCATE-REQUEST",
        "FP AUTHENTICATION-REQUEST",       # the locate authenticates with the UAK just allocated
        "PP AUTHENTICATION-REPLY",
        "FP LOCATE-ACCEPT",
    ]
    assert air.hs.registered and air.hs.located and air.hs.fixed_identity == PARK
    assert air.hs.keys.uak is not None


def located() -> Air:
    air = Air()
    air.hs.power_on(0.0)
    air.pump(0.0)
    air.hs_events.clear()
    air.base_events.clear()
    air.names.clear()
    return air


def test_feature_is_pending_until_the_base_indicates_the_state() -> None:
    air = located()
    air.hs.run_menu(DND_ON, 1.0)
    air.pump(1.0)
    [request] = air.base_events
    assert isinstance(request, FeatureRequested)
    assert air.hs.shown("dnd") == FeatureView(active=True) and "dnd" in air.hs.pending
    assert air.hs.state()["dnd"] is False  # confirmed state unchanged
    air.base.accept_feature(request.ref, 1.1)
    air.pump(1.1)
    assert "dnd" in air.hs.pending  # accepted, but not confirmed yet
    assert air.hs.display == ["Base", "Do not disturb", "pending"]
    air.base.indicate_feature_state(LINK, DndSetting(active=True), display="Do not disturb\nOn")
    air.pump(1.5)
    assert air.hs_events == [
        FeatureStateIndicated(setting=DndSetting(active=True), refused=False, display="Do not disturb\nOn")
    ]
    assert air.hs.pending == {} and air.hs.state()["dnd"] is True
    assert air.hs.display == ["Base", "Do not disturb", "On"]
    # The indication is the base's own CISS transaction, closed by the handset (EN 300 175-5 §10).
    assert air.names == ["PP CISS-REGISTER", "FP CISS-RELEASE-COM", "FP CISS-REGISTER", "FP FACILITY",
                         "PP CISS-RELEASE-COM"]


def test_refused_request_reverts() -> None:
    air = located()
    path = ["Menu", "Select services", "Call divert", "All calls", {"Status": "On", "Number": "3000"}]
    air.hs.run_menu(path, 1.0)
    air.pump(1.0)
    assert air.hs.shown("cfa") == FeatureView(active=True, target="3000")
    [request] = air.base_events
    assert isinstance(request, FeatureRequested)
    air.base.reject_feature(request.ref, 1.2, display="Not allowed")
    air.pump(1.2)
    assert air.hs_events == [
        FeatureRequestRefused(
            feature="cfa", reason=ReleaseReasonCode.SERVICE_NOT_IMPLEMENTED, display="Not allowed"
        )
    ]
    assert air.hs.shown("cfa") == FeatureView() and air.hs.pending == {}
    assert air.hs.display == ["Base", "Not allowed"]


def test_negative_acknowledgement_sets_the_servers_state() -> None:
    air = located()
    air.hs.run_menu(DND_ON, 1.0)
    air.pump(1.0)
    air.base.indicate_feature_state(LINK, DndSetting(active=False), display="DND refused", refused=True)
    air.pump(1.1)
    assert air.hs_events == [
        FeatureStateIndicated(setting=DndSetting(active=False), refused=True, display="DND refused")
    ]
    assert air.hs.pending == {} and air.hs.state()["dnd"] is False


def test_state_changed_elsewhere_is_shown() -> None:
    air = located()
    setting = DiversionSetting(diversion=DiversionType.NO_ANSWER, active=True, target="3002", rings=5)
    air.base.indicate_feature_state(LINK, setting, display="Divert no answer\n3002")
    air.pump(2.0)
    assert air.hs.state()["cfna"] == {"active": True, "to": "3002", "rings": 5}
    form = air.hs.compile_menu(["Menu", "Select services", "Call divert", "No answer", {"Rings": 5}])
    assert form[-2:] == ["DOWN", "OK"]  # the form opens with rings 5 already: no RIGHT needed


def test_no_answer_from_the_base_reverts_after_cc03() -> None:
    air = located()
    air.hs.run_menu(DND_ON, 1.0)
    air.hs.take_outgoing()  # lost on the air
    assert air.hs.next_deadline() == 1.0 + CC_03
    assert air.hs.handle_timer(1.0 + CC_03 - 0.01) == []
    events = air.hs.handle_timer(1.0 + CC_03)
    assert events == [
        FeatureRequestRefused(
            feature="dnd", reason=ReleaseReasonCode.TIMER_EXPIRY, display="Do not disturb\nno response"
        )
    ]
    assert air.hs.pending == {} and air.hs.next_deadline() is None


def test_out_of_range_requests_fail_with_a_message_and_nothing_is_sent() -> None:
    air = located()
    air.hs.set_in_range(False, 5.0)
    assert air.hs.display[0] == OUT_OF_RANGE
    events = air.hs.run_menu(DND_ON, 6.0)
    assert events == [RequestNotSent(operation="set dnd", why="out of range")]
    assert air.hs.take_outgoing() == [] and air.hs.pending == {}
    assert air.hs.dial("*78", 6.0) == [RequestNotSent(operation="dial *78", why="out of range")]
    assert air.hs.take_outgoing() == []
    assert air.hs.display == [OUT_OF_RANGE, OUT_OF_RANGE]
    air.hs.set_in_range(True, 7.0)  # back in range: locates again
    air.pump(7.0)
    assert air.names == ["PP LOCATE-REQUEST", "FP LOCATE-ACCEPT"] and air.hs.located


def test_locate_timer() -> None:
    hs = Handset(IPUI)
    hs.power_on(0.0)
    hs.take_outgoing()
    assert hs.next_deadline() == MM_LOCATE
    assert hs.handle_timer(MM_LOCATE) == [LocationAnswered(accepted=False, reason=None)]


def test_fac_dialling_connect_and_release() -> None:
    air = located()
    air.hs.dial("*78", 3.0)
    air.pump(3.0)
    [dialled] = air.base_events
    assert isinstance(dialled, FacDialled) and dialled.digits == "*78"
    air.base.complete_call(dialled.ref, 3.2, accepted=True, display="DND on")
    air.pump(3.2)
    assert air.names == [
        "PP CC-SETUP",
        "FP CC-CALL-PROC",
        "FP CC-CONNECT",
        "PP CC-RELEASE",
        "FP CC-RELEASE-COM",
    ]
    assert air.hs_events == [FacCompleted(digits="*78", accepted=True)]
    assert air.hs.display == ["Base", "DND on"]
    assert air.base.transactions == {} and air.hs.next_deadline() is None


def test_fac_refused() -> None:
    air = located()
    air.hs.dial("*79", 3.0)
    air.pump(3.0)
    [dialled] = air.base_events
    assert isinstance(dialled, FacDialled)
    air.base.complete_call(dialled.ref, 3.2, accepted=False)
    air.pump(3.2)
    assert air.hs_events == [
        FacCompleted(digits="*79", accepted=False, reason=ReleaseReasonCode.USER_REJECTION)
    ]


def test_release_timer_after_connect() -> None:
    air = located()
    air.hs.dial("*78", 3.0)
    air.pump(3.0)
    [dialled] = air.base_events
    assert isinstance(dialled, FacDialled)
    air.base.complete_call(dialled.ref, 3.1, accepted=True)
    for sent in air.base.take_outgoing():
        air.hs.receive(sent.data, 3.1)
    air.hs.take_outgoing()  # the CC-RELEASE is lost
    assert air.hs.next_deadline() == 3.1 + CC_02
    air.hs.handle_timer(3.1 + CC_02)
    assert air.hs.next_deadline() is None


def test_malformed_bytes_from_the_base_are_reported() -> None:
    hs = Handset(IPUI)
    hs.power_on(0.0)
    [event] = hs.receive(bytes.fromhex("85 55 05 07"), 0.1)
    assert isinstance(event, BaseMessageMalformed) and event.reason == 0x04


def test_transaction_values_are_allocated_per_protocol() -> None:
    air = located()
    air.hs.run_menu(DND_ON, 1.0)
    air.hs.run_menu(["Menu", "Select services", "Do not disturb", "Off"], 1.0)
    first, second = (decode(d) for d in air.hs.take_outgoing())
    assert (first.tv, second.tv) == (0, 1)
    assert first.message_type is second.message_type is MessageType.CISS_REGISTER


def test_powered_off_handset_ignores_keys() -> None:
    hs = Handset(IPUI)
    assert hs.press("MENU", 0.0) == [] and hs.display == []
