"""The application server's subscribers (users): password, FKS switch and feature state.

One responsibility: who exists on the server and what each user's DND/CFA/CFB/CFNA state is. The
devices of a user (registrations, subscriptions) are held by the registrar and the notifier, keyed
by the user name; this module only knows the user record. `passwords` is a live read-only view for
the digest checks of the notifier and the registrar.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from sip.errors import LocalProtocolError
from sip.feature_event import CONTENT_TYPE, NAMESPACE
from sip.multipart import BodyPart
from sip.state import ALL_FEATURES, Feature, FeatureState


@dataclass
class User:
    """One AS user. `fks` False: device feature synchronization is not allowed (SUBSCRIBE -> 403).

    Knobs of a real server's variety (issue 12 §1): `services` are the services assigned to the user
    (BroadWorks leaves unassigned ones out of the NOTIFY); `extra_parts` are added to every NOTIFY
    with a body (e.g. a call-center agent state, carried by BroadWorks in the same package);
    `extra_elements` are XML elements added inside every feature part (what a newer server release
    might add)."""

    name: str
    password: str
    fks: bool = True
    state: FeatureState = field(default_factory=FeatureState)
    services: frozenset[Feature] = frozenset(ALL_FEATURES)
    extra_parts: tuple[BodyPart, ...] = ()
    extra_elements: tuple[str, ...] = ()

    def assigned(self, features: tuple[Feature, ...] = ALL_FEATURES) -> tuple[Feature, ...]:
        """`features` without the unassigned ones, in their order."""
        return tuple(f for f in features if f in self.services)


def preset_part(name: str, user: str) -> BodyPart:
    """A named extra part for `user`. `call-center`: a call-center agent state in the package's own
    content type and namespace, as BroadWorks carries call-center (ACD) agent state in
    `as-feature-event` (issue 12 §1); its element names here (an `AgentStateEvent` with a CSTA
    agent state, ECMA-269) are this project's illustration [choice]: the base understands none of it."""
    if name != "call-center":
        raise LocalProtocolError(f"No extra part preset {name!r}")
    body = (
        f'<?xml version="1.0" encoding="ISO-8859-1"?>\n<AgentStateEvent xmlns="{NAMESPACE}">'
        f"<device>{escape(user)}</device><agentState>agentReady</agentState></AgentStateEvent>"
    )
    return BodyPart(content_type=CONTENT_TYPE, body=body.encode("iso-8859-1", "xmlcharrefreplace"))


class Directory:
    """All users by name. Mutated only through `add`/`remove`/`set_state`/`set_fks`."""

    def __init__(self, users: Iterable[User] = ()) -> None:
        self._users: dict[str, User] = {}
        for user in users:
            self.add(user)

    def add(self, user: User) -> None:
        if not user.name:
            raise LocalProtocolError("A user needs a name")
        self._users[user.name] = user

    def remove(self, name: str) -> None:
        self._users.pop(name, None)

    def get(self, name: str | None) -> User | None:
        return self._users.get(name) if name is not None else None

    def require(self, name: str) -> User:
        user = self._users.get(name)
        if user is None:
            raise LocalProtocolError(f"No user {name!r} on the server")
        return user

    def set_state(self, name: str, state: FeatureState) -> None:
        self.require(name).state = state

    def set_fks(self, name: str, allowed: bool) -> None:
        self.require(name).fks = allowed

    def __contains__(self, name: object) -> bool:
        return name in self._users

    def __iter__(self) -> Iterator[User]:
        return iter(list(self._users.values()))

    def __len__(self) -> int:
        return len(self._users)

    @property
    def passwords(self) -> Mapping[str, str]:
        return _Passwords(self._users)


class _Passwords(Mapping[str, str]):
    """user name -> password, read through to the directory (later changes are seen)."""

    def __init__(self, users: dict[str, User]) -> None:
        self._users = users

    def __getitem__(self, name: str) -> str:
        return self._users[name].password

    def __iter__(self) -> Iterator[str]:
        return iter(self._users)

    def __len__(self) -> int:
        return len(self._users)


__all__ = ["Directory", "User", "preset_part"]
