"""The RFC 3261 §17 transaction state machines as tables: the states, the inputs, the actions, and
for each kind of transaction its `(state, input) -> (action, next state)` table, each with the
figure of RFC 3261 (and RFC 6026) it follows. `sip.transaction` runs them; `make diagrams` draws them.
"""

from __future__ import annotations

from sip.fsm import MachineEnum


class State(MachineEnum):
    CALLING = "calling"
    TRYING = "trying"
    PROCEEDING = "proceeding"
    COMPLETED = "completed"
    CONFIRMED = "confirmed"
    ACCEPTED = "accepted"
    TERMINATED = "terminated"


class Input(MachineEnum):
    PROVISIONAL = "1xx"
    FINAL_2XX = "2xx"
    FINAL_ERROR = "300-699"
    REQUEST = "request retransmission"
    SEND_PROVISIONAL = "send 1xx"
    SEND_FINAL = "send final"
    SEND_2XX = "send 2xx"
    ACK = "ACK"
    TIMER_RETRANSMIT = "timer E/A"
    TIMER_TIMEOUT = "timer F/B"
    TIMER_WAIT = "timer K/D/J"


class Action(MachineEnum):
    DELIVER = "pass the response up"
    DELIVER_AND_ACK = "pass up and send ACK"
    ACK = "resend ACK"
    RETRANSMIT = "retransmit the request"
    TIMEOUT = "report timeout"
    SEND = "send the response"
    RESEND = "resend the last response"
    NOTHING = "absorb"


S, In, A = State, Input, Action
Table = dict[tuple[State, Input], tuple[Action, State]]

#: RFC 3261 §17.1.2.2 and Figure 6: non-INVITE client transaction.
NON_INVITE_CLIENT: Table = {
    (S.TRYING, In.PROVISIONAL): (A.DELIVER, S.PROCEEDING),
    (S.TRYING, In.FINAL_2XX): (A.DELIVER, S.COMPLETED),
    (S.TRYING, In.FINAL_ERROR): (A.DELIVER, S.COMPLETED),
    (S.TRYING, In.TIMER_RETRANSMIT): (A.RETRANSMIT, S.TRYING),
    (S.TRYING, In.TIMER_TIMEOUT): (A.TIMEOUT, S.TERMINATED),
    (S.PROCEEDING, In.PROVISIONAL): (A.DELIVER, S.PROCEEDING),
    (S.PROCEEDING, In.FINAL_2XX): (A.DELIVER, S.COMPLETED),
    (S.PROCEEDING, In.FINAL_ERROR): (A.DELIVER, S.COMPLETED),
    (S.PROCEEDING, In.TIMER_RETRANSMIT): (A.RETRANSMIT, S.PROCEEDING),
    (S.PROCEEDING, In.TIMER_TIMEOUT): (A.TIMEOUT, S.TERMINATED),
    # "The Completed state exists to buffer any additional response retransmissions."
    (S.COMPLETED, In.PROVISIONAL): (A.NOTHING, S.COMPLETED),
    (S.COMPLETED, In.FINAL_2XX): (A.NOTHING, S.COMPLETED),
    (S.COMPLETED, In.FINAL_ERROR): (A.NOTHING, S.COMPLETED),
    (S.COMPLETED, In.TIMER_WAIT): (A.NOTHING, S.TERMINATED),
}

#: RFC 3261 §17.1.1.2 and Figure 5 with the Accepted state of RFC 6026 §7.2: INVITE client
#: transaction. A 2xx moves it to Accepted for Timer M = 64*T1, where every retransmitted 2xx is
#: passed up too, because "the UAC core MUST generate an ACK request for each 2xx received from the
#: transaction layer" (RFC 3261 §13.2.2.4); the TU builds and re-sends that ACK.
INVITE_CLIENT: Table = {
    (S.CALLING, In.TIMER_RETRANSMIT): (A.RETRANSMIT, S.CALLING),
    (S.CALLING, In.TIMER_TIMEOUT): (A.TIMEOUT, S.TERMINATED),
    (S.CALLING, In.PROVISIONAL): (A.DELIVER, S.PROCEEDING),
    (S.CALLING, In.FINAL_2XX): (A.DELIVER, S.ACCEPTED),
    (S.CALLING, In.FINAL_ERROR): (A.DELIVER_AND_ACK, S.COMPLETED),
    (S.PROCEEDING, In.PROVISIONAL): (A.DELIVER, S.PROCEEDING),
    (S.PROCEEDING, In.FINAL_2XX): (A.DELIVER, S.ACCEPTED),
    (S.PROCEEDING, In.FINAL_ERROR): (A.DELIVER_AND_ACK, S.COMPLETED),
    # "Any retransmissions of the final response ... MUST cause the ACK to be re-passed."
    (S.COMPLETED, In.FINAL_ERROR): (A.ACK, S.COMPLETED),
    (S.COMPLETED, In.PROVISIONAL): (A.NOTHING, S.COMPLETED),
    (S.COMPLETED, In.TIMER_WAIT): (A.NOTHING, S.TERMINATED),
    (S.ACCEPTED, In.FINAL_2XX): (A.DELIVER, S.ACCEPTED),  # RFC 6026 §8.4: 2xx repeats go to the TU
    (S.ACCEPTED, In.PROVISIONAL): (A.NOTHING, S.ACCEPTED),
    (S.ACCEPTED, In.FINAL_ERROR): (A.NOTHING, S.ACCEPTED),
    (S.ACCEPTED, In.TIMER_WAIT): (A.NOTHING, S.TERMINATED),  # Timer M
}

#: RFC 3261 §17.2.2 and Figure 8: non-INVITE server transaction.
NON_INVITE_SERVER: Table = {
    (S.TRYING, In.REQUEST): (A.NOTHING, S.TRYING),
    (S.TRYING, In.SEND_PROVISIONAL): (A.SEND, S.PROCEEDING),
    (S.TRYING, In.SEND_FINAL): (A.SEND, S.COMPLETED),
    (S.PROCEEDING, In.REQUEST): (A.RESEND, S.PROCEEDING),
    (S.PROCEEDING, In.SEND_PROVISIONAL): (A.SEND, S.PROCEEDING),
    (S.PROCEEDING, In.SEND_FINAL): (A.SEND, S.COMPLETED),
    (S.COMPLETED, In.REQUEST): (A.RESEND, S.COMPLETED),
    (S.COMPLETED, In.TIMER_WAIT): (A.NOTHING, S.TERMINATED),
}


#: RFC 3261 §17.2.1 (Figure 7) with the Accepted state of RFC 6026 §7.1: INVITE server transaction.
#: The 2xx is retransmitted here until the ACK arrives (RFC 3261 §13.3.1.4 gives that to the TU; doing
#: it in the transaction is a choice that keeps the server's application simple). Having taken that
#: job of the TU, the transaction also does what such a TU does [choice]: an INVITE retransmission
#: before the ACK gets the 2xx again (RFC 6026 §8.5 absorbs it, as there the TU owns the 2xx); the
#: first ACK is passed up and moves the transaction to Confirmed, where the rest of Timer L absorbs
#: further INVITE and ACK retransmissions; Timer L without an ACK is reported as a timeout so the TU
#: can end the session with a BYE (§13.3.1.4: "the session SHOULD be terminated").
INVITE_SERVER: Table = {
    (S.PROCEEDING, In.REQUEST): (A.RESEND, S.PROCEEDING),
    (S.PROCEEDING, In.SEND_PROVISIONAL): (A.SEND, S.PROCEEDING),
    (S.PROCEEDING, In.SEND_2XX): (A.SEND, S.ACCEPTED),
    (S.PROCEEDING, In.SEND_FINAL): (A.SEND, S.COMPLETED),
    (S.COMPLETED, In.REQUEST): (A.RESEND, S.COMPLETED),
    (S.COMPLETED, In.TIMER_RETRANSMIT): (A.RESEND, S.COMPLETED),  # Timer G
    (S.COMPLETED, In.TIMER_TIMEOUT): (A.TIMEOUT, S.TERMINATED),  # Timer H: the ACK never came
    (S.COMPLETED, In.ACK): (A.NOTHING, S.CONFIRMED),
    (S.CONFIRMED, In.ACK): (A.NOTHING, S.CONFIRMED),
    (S.CONFIRMED, In.REQUEST): (A.NOTHING, S.CONFIRMED),
    (S.CONFIRMED, In.TIMER_WAIT): (A.NOTHING, S.TERMINATED),  # Timer I = T4
    (S.ACCEPTED, In.REQUEST): (A.RESEND, S.ACCEPTED),
    (S.ACCEPTED, In.SEND_2XX): (A.SEND, S.ACCEPTED),
    (S.ACCEPTED, In.TIMER_RETRANSMIT): (A.RESEND, S.ACCEPTED),
    (S.ACCEPTED, In.ACK): (A.DELIVER, S.CONFIRMED),  # the rest of Timer L becomes the wait timer
    (S.ACCEPTED, In.TIMER_TIMEOUT): (A.TIMEOUT, S.TERMINATED),  # Timer L = 64*T1, no ACK came
}


__all__ = ["INVITE_CLIENT", "INVITE_SERVER", "NON_INVITE_CLIENT", "NON_INVITE_SERVER", "A", "Action", "In",
           "Input", "S", "State", "Table"]
