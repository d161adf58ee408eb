"""Review of the base's incoming-call CC transaction (dect/fp_calls.py): a caller number from SIP longer
than a DECT information element holds is cut to fit, never raised out of `offer`."""

from __future__ import annotations

from dect.codec import Side, decode
from dect.endpoint import DectEndpoint, RegistrationTable
from dect.events import CallAlerted
from dect.handset import Handset
from dect.identity import Ipui
from dect.ies_var import CallingPartyNumber, FixedIdentity, MultiDisplay

IPUI = Ipui.parse("029e74a599")
LINK = "029e74a599"
PARK = FixedIdentity(bits=36, value=0x123456789)


def test_a_caller_number_longer_than_an_ie_is_cut_to_fit() -> None:
    ep = DectEndpoint(policy=RegistrationTable(registered={IPUI}), fixed_identity=PARK)
    handset = Handset(IPUI, fixed_identity=PARK)
    handset.power_on(0.0)
    caller = "1234567890" * 30   # 300 digits: MULTI-DISPLAY and CALLING-PARTY-NUMBER hold 255 octets
    assert ep.calls.offer(LINK, IPUI, key="c1", caller=caller, now=1.0)
    (setup,) = ep.take_outgoing()
    msg = decode(setup.data, sender=Side.FP)
    assert msg.get(CallingPartyNumber) == CallingPartyNumber(number=caller[:254])
    shown = msg.get(MultiDisplay)
    assert shown is not None and shown.text == caller[:254]
    assert handset.receive(setup.data, 1.0) == [CallAlerted(caller=caller[:254])]
