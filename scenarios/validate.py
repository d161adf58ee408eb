"""Validating a scenario file and building its `Scenario` (spec/scenarios-and-cli.md §2).

`load_scenario(path, known_models)` reads one YAML file and returns a `Scenario`, or raises
`ScenarioError` listing every problem as `file:line: field: problem`, with a suggestion where one is
close. Checks that need a model profile or a handset's menu tree (internal telephony on a model
without the setting, menu entries) are made by the runner per model, with the `where` kept on each
step.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from dect.identity import Ipui
from firmware.account_rules import check_secret, check_user
from scenarios.call_checks import call_expectation, call_step, check_menu_path, hangup_step
from scenarios.readers import Checker
from scenarios.server_knobs import KNOB_KEYS, read_knobs
from scenarios.spec import (
    DEFAULT_TAIL,
    FEATURES,
    KEYS,
    MAX_HANDSET_HOURS,
    BaseSpec,
    Expectation,
    FeatureState,
    HandsetSpec,
    Scenario,
    ServerSpec,
    Step,
    UserSpec,
)
from scenarios.yamlsrc import (
    Node,
    ScenarioError,
    Unreadable,
    clip,
    load_yaml,
    read_text,
    suggest,
)

TOP_KEYS = ("scenario", "models", "seed", "duration", "base", "handsets", "server", "network", "steps",
            "expect")
HANDSET_KEYS = ("ipui", "type", "user", "password", "feature_key_sync", "dect_manager", "registered")
STEP_ACTIONS = ("menu", "keys", "dial", "out_of_range", "roam_to", "register")
#: The most digits one dial step sends: a MULTI-KEYPAD IE holds at most 255 octets.
MAX_DIAL = 255
STEP_KINDS = ("handset", "portal", "fac", "call", "hangup", "base", "server", "network")
EXPECT_KINDS = ("handset", "server", "sip", "dect", "fks", "call")
BASE_EVENTS = ("reboot", "power_off", "power_on")


def load_scenario(path: Path | str, known_models: tuple[str, ...], text: str | None = None) -> Scenario:
    """Read and validate one scenario file. `known_models` are the model ids, compared case-insensitively."""
    path = Path(path)
    root = load_yaml(path, text)
    if not root.is_map():
        raise ScenarioError([root.error("a scenario file is a mapping (scenario:, models:, steps:, ...)")])
    builder = _Builder(known_models, path)
    scenario = builder.build(root)
    if builder.problems:
        raise ScenarioError(builder.problems)
    assert scenario is not None
    return scenario


class _Builder(Checker):
    def __init__(self, known_models: tuple[str, ...], path: Path) -> None:
        super().__init__(known_models)
        self.path = path
        self.ipuis: set[Ipui] = set()
        self.users: set[str] = set()
        #: The handset type each handset names (None: the default type), for its menu paths.
        self.types: dict[Ipui, str | None] = {}
        #: Call ids placed by `call` steps, with the line each was named on.
        self.call_ids: dict[str, str] = {}

    def build(self, root: Node) -> Scenario | None:
        top = self.mapping(root, TOP_KEYS, required=("scenario", "models"))
        title = self.text(top["scenario"]) if "scenario" in top else None
        models = self.models(top["models"]) if "models" in top else None
        seed = self.integer(top["seed"], 0, 2**63 - 1) if "seed" in top else 0
        duration = self.time(top["duration"]) if "duration" in top else None
        handsets = self.handsets(top["handsets"]) if "handsets" in top else ()
        server = self.server(top["server"]) if "server" in top else ServerSpec()
        self.users |= {u.user for u in server.users}
        base = self.base(top["base"]) if "base" in top else BaseSpec()
        network = self.network(top["network"]) if "network" in top else {}
        if network.pop("drop_connections", None) is not None:
            self.fail(top["network"], "drop_connections is a fault step "
                                      "(steps: - network: {drop_connections: true}), not a starting setting")
        steps = self.steps(top["steps"]) if "steps" in top else ()
        expectations = self.expectations(top["expect"]) if "expect" in top else ()
        if self.problems or title is None or seed is None:
            return None
        last = max([s.at for s in steps] + [e.at for e in expectations if e.at is not None] + [0.0])
        if duration is None:
            duration = last + DEFAULT_TAIL
        if not self.work_fits(top, len(handsets), duration):
            return None
        return Scenario(
            title=title, file=str(self.path), models=models, seed=seed, duration=duration,
            base=base, handsets=handsets, server=server, network=network,
            steps=tuple(sorted(steps, key=lambda s: s.at)), expectations=expectations,
        )

    def work_fits(self, top: dict[str, Node], handsets: int, duration: float) -> bool:
        """Handsets x simulated hours within MAX_HANDSET_HOURS, so that no file keeps `fksim run` busy
        for hours or fills the memory with its message log."""
        work = handsets * duration / 3600.0
        if work <= MAX_HANDSET_HOURS:
            return True
        node = top.get("duration") or top["handsets"]
        self.fail(node, f"{handsets} handsets for {duration / 3600:.4g} h of simulated time are {work:,.0f} "
                        f"handset-hours, more than the limit of {MAX_HANDSET_HOURS:,} ({MAX_HANDSET_HOURS:,} "
                        "handsets for an hour, 27 for 30 days)")
        return False

    def models(self, node: Node) -> tuple[str, ...] | None:
        if node.value == "all":
            return None
        if not node.is_seq() or not node.value:
            self.fail(node, 'must be a list of model ids or "all"')
            return ()
        by_lower = {m.lower(): m for m in self.known_models}
        out: list[str] = []
        for element in node.elements():
            text = self.text(element)
            if text is None:
                continue
            if text.lower() not in by_lower:
                self.fail(element, f'unknown model "{clip(text)}"{suggest(text, self.known_models)}')
            else:
                out.append(by_lower[text.lower()])
        return tuple(out)

    def handsets(self, node: Node) -> tuple[HandsetSpec, ...]:
        if not node.is_seq():
            self.fail(node, "must be a list of handsets")
            return ()
        out: list[HandsetSpec] = []
        for element in node.elements():
            m = self.mapping(element, HANDSET_KEYS, required=("ipui", "user"))
            ipui = self.ipui(m["ipui"]) if "ipui" in m else None
            user = self.sip_user(m["user"]) if "user" in m else None
            if "password" in m:
                self.account_value(m["password"], check_secret, "password")
            if ipui is not None and ipui in self.ipuis:
                self.fail(m["ipui"], f"handset {ipui} is listed twice")
            if ipui is None or user is None:
                continue
            self.ipuis.add(ipui)
            self.users.add(user)
            self.types[ipui] = self.text(m["type"]) if "type" in m else None
            out.append(HandsetSpec(
                ipui=ipui,
                type=self.types[ipui],
                user=user,
                password=self.text(m["password"]) if "password" in m else None,
                feature_key_sync=(bool(self.boolean(m["feature_key_sync"]))
                                  if "feature_key_sync" in m else False),
                dect_manager=(self.integer(m["dect_manager"], 1, 100) or 1) if "dect_manager" in m else 1,
                registered=self.boolean(m["registered"]) is not False if "registered" in m else True,
                where=element.where(),
            ))
        return tuple(out)

    def sip_user(self, node: Node) -> str | None:
        """A user name as it goes on the wire: the user part of a SIP URI (firmware.account_rules,
        the rules provisioning and the web interface apply too)."""
        user = self.text(node)
        if user is not None and not user:
            self.fail(node, "a user name must not be empty")
            return None
        return None if user is None else self.account_value(node, check_user, "user name", user)

    def account_value(self, node: Node, check: Callable[[str], str], what: str,
                      text: str | None = None) -> str | None:
        value = self.text(node) if text is None else text
        if value is None:
            return None
        try:
            return check(value)
        except ValueError as err:
            self.fail(node, f"not a usable {what}: {err}")
            return None

    def server(self, node: Node) -> ServerSpec:
        m = self.mapping(node, ("fks", "reject", "delay", "users", *KNOB_KEYS))
        users: list[UserSpec] = []
        if "users" in m:
            for user, child in self.any_mapping(m["users"]).items():
                self.sip_user(Node(user, child.file, child.line, child.path))
                state = self.feature_state(child) if child.value is not None else FeatureState()
                users.append(UserSpec(user=user, state=state, where=child.where()))
        return ServerSpec(
            fks=self.boolean(m["fks"]) is not False if "fks" in m else True,
            reject=self.reject(m["reject"]) if "reject" in m else {},
            delay=(self.time(m["delay"]) or 0.0) if "delay" in m else 0.0,
            users=tuple(users),
            knobs=read_knobs(self, m, self.users | {u.user for u in users}),
        )

    def reject(self, node: Node) -> dict[str, int]:
        out: dict[str, int] = {}
        for method, child in self.mapping(node, ("SUBSCRIBE", "REGISTER", "INVITE")).items():
            status = self.integer(child, 300, 699)
            if status is not None:
                out[method] = status
        return out

    def base(self, node: Node) -> BaseSpec:
        m = self.mapping(node, ("internal_telephony", "dect_managers", "provisioning", "params"))
        xml, source = self.provisioning(m["provisioning"]) if "provisioning" in m else (None, None)
        return BaseSpec(
            internal_telephony=self.boolean(m["internal_telephony"]) if "internal_telephony" in m else None,
            dect_managers=self.integer(m["dect_managers"], 1, 100) if "dect_managers" in m else None,
            provisioning=xml, provisioning_source=source,
            params=self.params(m["params"]) if "params" in m else {},
            where=node.where(), key_where={key: child.where() for key, child in m.items()},
        )

    def provisioning(self, node: Node) -> tuple[str | None, str | None]:
        """Inline XML (starts with `<`) or a path relative to the scenario file, read now."""
        text = self.text(node)
        if text is None:
            return None, None
        if text.lstrip().startswith("<"):
            return text, f"{node.file}:{node.line}"
        target = self.path.parent / text
        try:
            # A regular file of at most MAX_FILE_BYTES: never a device, a FIFO or a folder.
            return read_text(target), str(target)
        except Unreadable as err:
            at = f" (line {err.line})" if err.line is not None else ""
            self.fail(node, f"cannot read provisioning file {clip(str(target), 200)}: {err.problem}{at}")
            return None, None

    def params(self, node: Node) -> dict[str, str]:
        if not node.is_map():
            self.fail(node, "must be a mapping of parameter name to value")
            return {}
        out: dict[str, str] = {}
        for key, child in node.items():
            value = child.value
            if isinstance(value, bool):
                out[key] = "1" if value else "0"
            elif isinstance(value, str | int | float):
                out[key] = str(value)
            else:
                self.fail(child, "a parameter value is text or a number")
        return out

    # -- steps ---------------------------------------------------------------------------------

    def steps(self, node: Node) -> tuple[Step, ...]:
        if not node.is_seq():
            self.fail(node, "must be a list of steps")
            return ()
        out: list[Step] = []
        for element in node.elements():
            step = self.step(element)
            if step is not None:
                out.append(step)
        return tuple(out)

    def _at(self, m: dict[str, Node], element: Node) -> float | None:
        if "at" not in m:
            self.fail(element, 'missing required key "at"')
            return None
        return self.time(m["at"])

    def _kind(self, m: dict[str, Node], element: Node, kinds: tuple[str, ...]) -> str | None:
        present = [k for k in kinds if k in m]
        if len(present) != 1:
            what = "none" if not present else ", ".join(present)
            self.fail(element, f"needs exactly one of {', '.join(kinds)} (found {what})")
            return None
        return present[0]

    def _handset_ref(self, node: Node) -> Ipui | None:
        ipui = self.ipui(node)
        if ipui is not None and ipui not in self.ipuis:
            known = tuple(str(i) for i in sorted(self.ipuis))
            self.fail(node, f'unknown handset "{clip(str(node.value))}"{suggest(str(node.value), known)}')
            return None
        return ipui

    def _user_ref(self, node: Node) -> str | None:
        user = self.text(node)
        if user is not None and user not in self.users:
            self.fail(node, f'unknown user "{clip(user)}"{suggest(user, tuple(sorted(self.users)))}')
            return None
        return user

    def step(self, element: Node) -> Step | None:
        allowed = ("at", *STEP_KINDS, *STEP_ACTIONS)
        m = self.mapping(element, allowed)
        at = self._at(m, element)
        kind = self._kind(m, element, STEP_KINDS)
        if at is None or kind is None:
            return None
        where = element.where()
        if kind == "handset":
            ipui = self._handset_ref(m["handset"])
            action = self._kind(m, element, STEP_ACTIONS)
            if ipui is None or action is None:
                return None
            args = self.handset_action(action, m[action])
            if args is not None and action == "menu" and not check_menu_path(self, m[action], ipui, args):
                return None
            return None if args is None else Step(at=at, kind=action, args=args, where=where, handset=ipui)
        stray = [k for k in STEP_ACTIONS if k in m]
        if stray:
            self.fail(m[stray[0]], f'"{stray[0]}" belongs to a handset step')
            return None
        builder = {"portal": self.portal_step, "fac": self.fac_step, "base": self.base_step,
                   "server": self.server_step, "network": self.network_step,
                   "call": self.call_step, "hangup": self.hangup_step}[kind]
        args = builder(m[kind])
        return None if args is None else Step(at=at, kind=kind, args=args, where=where)

    def handset_action(self, action: str, node: Node) -> dict[str, Any] | None:
        if action == "menu":
            return self.menu_path(node)
        if action == "keys":
            if not node.is_seq() or not node.value:
                self.fail(node, "must be a list of keys")
                return None
            keys: list[str] = []
            for element in node.elements():
                key = self.text(element)
                if key is not None and key.upper() not in KEYS:
                    self.fail(element, f'unknown key "{clip(key)}"{suggest(key.upper(), KEYS)}')
                elif key is not None:
                    keys.append(key.upper())
            return {"keys": keys}
        if action == "dial":
            digits = self.text(node)
            if digits is not None and (not digits or any(c not in "0123456789*#" for c in digits)):
                self.fail(node, f'"{clip(digits)}" is not a dialable string (digits, * and # only)')
                return None
            if digits is not None and len(digits) > MAX_DIAL:
                # MULTI-KEYPAD content is at most 255 octets (EN 300 175-5 §7.5.4: one length octet).
                self.fail(node, f"{len(digits)} digits are too many to dial (at most {MAX_DIAL})")
                return None
            return None if digits is None else {"digits": digits}
        if action == "register":
            pin = self.text(node)
            if pin is not None and (len(pin) != 4 or not pin.isdigit()):
                self.fail(node, f'"{clip(pin)}" is not a PIN (four digits, e.g. "0000")')
                return None
            return None if pin is None else {"pin": pin}
        if action == "out_of_range":
            flag = self.boolean(node)
            return None if flag is None else {"out_of_range": flag}
        manager = self.integer(node, 1, 100)   # roam_to
        return None if manager is None else {"dect_manager": manager}

    def menu_path(self, node: Node) -> dict[str, Any] | None:
        if not node.is_seq() or not node.value:
            self.fail(node, 'must be a list of menu entries, e.g. [Menu, Select services, Call divert]')
            return None
        entries: list[str] = []
        form: dict[str, str] | None = None
        elements = list(node.elements())
        for index, element in enumerate(elements):
            if element.is_map():
                if index != len(elements) - 1:
                    self.fail(element, "a form (mapping of fields) may only be the last menu element")
                    return None
                form = {str(k): ("On" if v is True else "Off" if v is False else str(v))
                        for k, v in element.value.items()}
            else:
                text = self.text(element)
                if text is None:
                    return None
                entries.append(text)
        return {"path": entries, "form": form, "where": node.where()}

    def call_step(self, node: Node) -> dict[str, Any] | None:
        return call_step(self, node)

    def hangup_step(self, node: Node) -> dict[str, Any] | None:
        return hangup_step(self, node)

    def network_step(self, node: Node) -> dict[str, Any] | None:
        return {"settings": self.network(node)}

    def portal_step(self, node: Node) -> dict[str, Any] | None:
        m = self.mapping(node, ("user", *FEATURES), required=("user",))
        user = self._user_ref(m["user"]) if "user" in m else None
        state = self.feature_state(Node({k: v.value for k, v in m.items() if k != "user"}, node.file,
                                        node.line, node.path))
        return None if user is None else {"user": user, "state": state}

    def fac_step(self, node: Node) -> dict[str, Any] | None:
        m = self.mapping(node, ("user", "code"), required=("user", "code"))
        user = self._user_ref(m["user"]) if "user" in m else None
        code = self.text(m["code"]) if "code" in m else None
        if code is not None and (not code or any(c not in "0123456789*#" for c in code)):
            self.fail(m["code"], f'"{clip(code)}" is not a feature access code such as *78 or *723000')
            return None
        return None if user is None or code is None else {"user": user, "code": code}

    def base_step(self, node: Node) -> dict[str, Any] | None:
        if isinstance(node.value, str):
            if node.value not in BASE_EVENTS:
                self.fail(node, f'unknown base event "{clip(node.value)}"{suggest(node.value, BASE_EVENTS)}')
                return None
            return {"event": node.value}
        m = self.mapping(node, ("internal_telephony", "feature_key_sync", "provisioning", "params"))
        args: dict[str, Any] = {}
        if "internal_telephony" in m:
            args["internal_telephony"] = self.boolean(m["internal_telephony"])
        if "feature_key_sync" in m:
            flags: dict[Ipui, bool] = {}
            for key, child in self.any_mapping(m["feature_key_sync"]).items():
                ipui = self._handset_ref(Node(key, child.file, child.line, child.path))
                flag = self.boolean(child)
                if ipui is not None and flag is not None:
                    flags[ipui] = flag
            args["feature_key_sync"] = flags
        if "provisioning" in m:
            args["provisioning"], args["provisioning_source"] = self.provisioning(m["provisioning"])
        if "params" in m:
            args["params"] = self.params(m["params"])
        if not args:
            self.fail(node, f"says nothing to change; use {', '.join(BASE_EVENTS)} or a mapping")
            return None
        return {"change": args}

    def server_step(self, node: Node) -> dict[str, Any] | None:
        if isinstance(node.value, str):
            if node.value != "restart":
                self.fail(node, f'unknown server event "{clip(str(node.value))}" (valid: restart)')
                return None
            return {"event": "restart"}
        m = self.mapping(node, ("fks", "reject", "delay", *KNOB_KEYS))
        args: dict[str, Any] = dict(read_knobs(self, m, self.users))
        if "fks" in m:
            args["fks"] = self.boolean(m["fks"])
        if "reject" in m:
            args["reject"] = self.reject(m["reject"])
        if "delay" in m:
            args["delay"] = self.time(m["delay"])
        return {"change": args}

    # -- expectations --------------------------------------------------------------------------

    def expectations(self, node: Node) -> tuple[Expectation, ...]:
        if not node.is_seq():
            self.fail(node, "must be a list of expectations")
            return ()
        out: list[Expectation] = []
        for index, element in enumerate(node.elements()):
            expectation = self.expectation(index, element)
            if expectation is not None:
                out.append(expectation)
        return tuple(out)

    def expectation(self, index: int, element: Node) -> Expectation | None:
        m = self.mapping(element, ("at", *EXPECT_KINDS, "state", "display"))
        at: float | None = None
        if "at" not in m:
            self.fail(element, 'missing required key "at" (a time or "end")')
            return None
        if m["at"].value != "end":
            at = self.time(m["at"])
            if at is None:
                return None
        kind = self._kind(m, element, EXPECT_KINDS)
        if kind is None:
            return None
        for key in ("state", "display"):
            if key in m and kind != "handset":
                self.fail(m[key], f'"{key}" belongs to a handset expectation')
                return None
        args = {"handset": self.expect_handset, "server": self.expect_server, "sip": self.expect_sip,
                "dect": self.expect_dect, "fks": self.expect_fks,
                "call": self.expect_call}[kind](m)
        if args is None:
            return None
        return Expectation(index=index, at=at, kind=kind, args=args, where=element.where())

    def expect_handset(self, m: dict[str, Node]) -> dict[str, Any] | None:
        ipui = self._handset_ref(m["handset"])
        if "state" not in m and "display" not in m:
            self.fail(m["handset"], 'a handset expectation needs "state" and/or "display"')
            return None
        state = self.feature_state(m["state"]) if "state" in m else None
        display = self.text(m["display"]) if "display" in m else None
        return None if ipui is None else {"handset": ipui, "state": state, "display": display}

    def expect_server(self, m: dict[str, Node]) -> dict[str, Any] | None:
        inner = self.mapping(m["server"], ("user", "state"), required=("user", "state"))
        user = self._user_ref(inner["user"]) if "user" in inner else None
        state = self.feature_state(inner["state"]) if "state" in inner else None
        return None if user is None or state is None else {"user": user, "state": state}

    def expect_sip(self, m: dict[str, Node]) -> dict[str, Any] | None:
        inner = self.mapping(m["sip"], ("method", "event", "status", "body", "from", "count"),
                             required=("count",))
        count = self.count(inner["count"]) if "count" in inner else None
        if "method" not in inner and "status" not in inner:
            self.fail(m["sip"], 'a sip expectation needs "method" and/or "status"')
            return None
        args: dict[str, Any] = {
            "method": (self.text(inner["method"]) or "").upper() if "method" in inner else None,
            "event": self.text(inner["event"]) if "event" in inner else None,
            "status": self.integer(inner["status"], 100, 699) if "status" in inner else None,
            "body": self.text(inner["body"]) if "body" in inner else None,
            "since": (self.time(inner["from"]) or 0.0) if "from" in inner else 0.0,
            "count": count,
        }
        return None if count is None else args

    def expect_dect(self, m: dict[str, Node]) -> dict[str, Any] | None:
        inner = self.mapping(m["dect"], ("message", "from", "since", "count"), required=("message", "count"))
        count = self.count(inner["count"]) if "count" in inner else None
        sender: str | None = None
        if "from" in inner:
            text = self.text(inner["from"])
            if text == "base":
                sender = "base"
            else:
                ipui = self._handset_ref(inner["from"])
                sender = f"handset:{ipui}" if ipui is not None else None
        message = self.text(inner["message"]) if "message" in inner else None
        if count is None or message is None:
            return None
        since = (self.time(inner["since"]) or 0.0) if "since" in inner else 0.0
        return {"message": message.upper(), "sender": sender, "since": since, "count": count}

    def expect_call(self, m: dict[str, Node]) -> dict[str, Any] | None:
        return call_expectation(self, m["call"])

    def expect_fks(self, m: dict[str, Node]) -> dict[str, Any] | None:
        inner = self.mapping(m["fks"], ("handset", "supported", "active", "reason"), required=("handset",))
        ipui = self._handset_ref(inner["handset"]) if "handset" in inner else None
        args: dict[str, Any] = {
            "handset": ipui,
            "supported": self.boolean(inner["supported"]) if "supported" in inner else None,
            "active": self.boolean(inner["active"]) if "active" in inner else None,
            "reason": self.text(inner["reason"]) if "reason" in inner else None,
        }
        return None if ipui is None else args
