"""The base of the enums that key the state-machine tables (transactions, registration, subscription,
notifier, FAC calls, the firmware's FKS application) and the feature names.

`enum.Enum` hashes a member by hashing its name in Python code, and every input to every machine
looks up `(state, input)` in a dict: about a dozen such hashes per SIP message. Members are
singletons compared by identity, so hashing by identity is equivalent and runs in C. As with names
(string hashing is salted per process), no output may depend on a hash's value or on set order.
"""

from __future__ import annotations

import enum


class MachineEnum(enum.Enum):
    __hash__ = object.__hash__


__all__ = ["MachineEnum"]
